/* frames.c: the files a run's frames are in (frames.h). */
#include "common/frames.h"

#include <stdlib.h>
#include <string.h>

static struct kw_frame_file *slot(struct kw_frame_files *ff, size_t i)
{
    return &ff->ring[(ff->head + i) % KW_FRAME_FILES_MAX];
}

size_t kw_frame_files_count(const struct kw_frame_files *ff)
{
    return ff->n;
}

const struct kw_frame_file *kw_frame_files_at(const struct kw_frame_files *ff, size_t i)
{
    return i < ff->n ? &ff->ring[(ff->head + i) % KW_FRAME_FILES_MAX] : NULL;
}

bool kw_frame_files_find(const struct kw_frame_files *ff, uint64_t frame, const char **name,
                         uint64_t *frame_in_file)
{
    if (!ff->n || !frame || frame > ff->last_frame ||
        frame < kw_frame_files_at(ff, 0)->first_frame)
        return false;
    /* the last file whose first frame is at or before it: files that held
     * no frame share their first frame with the next, and are passed over */
    size_t lo = 0, hi = ff->n; /* the answer is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (kw_frame_files_at(ff, mid)->first_frame <= frame)
            lo = mid;
        else
            hi = mid;
    }
    const struct kw_frame_file *f = kw_frame_files_at(ff, lo);
    if (!f->name)
        return false;
    *name = f->name;
    *frame_in_file = frame - f->first_frame + 1;
    return true;
}

static void drop_name(struct kw_frame_file *f)
{
    if (f->owned)
        free((char *)f->name);
    f->name = NULL;
    f->owned = false;
}

void kw_frame_files_add(struct kw_frame_files *ff, const char *name, uint64_t first_frame,
                        bool owned, bool rewritten)
{
    if (rewritten)
        for (size_t i = 0; i < ff->n; i++) {
            struct kw_frame_file *f = slot(ff, i);
            if (f->name && name && !strcmp(f->name, name))
                drop_name(f);
        }
    if (ff->n == KW_FRAME_FILES_MAX) { /* the oldest makes room */
        drop_name(slot(ff, 0));
        ff->head = (ff->head + 1) % KW_FRAME_FILES_MAX;
        ff->n--;
        ff->n_forgotten++;
    }
    struct kw_frame_file *f = slot(ff, ff->n++);
    f->name = name;
    f->first_frame = first_frame;
    f->owned = owned && name;
}

void kw_frame_files_clear(struct kw_frame_files *ff)
{
    for (size_t i = 0; i < ff->n; i++)
        drop_name(slot(ff, i));
    ff->head = ff->n = 0;
}
