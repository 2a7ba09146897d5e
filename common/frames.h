/* frames.h: which file a frame is in. keepwatch numbers frames across a run,
 * from 1, as if its inputs were one (-r a -r b: b's first frame follows a's
 * last), and so do its findings' evidence. capture/ fills this list, in
 * order, with the files those frames are in: the inputs read (-r), or, live,
 * the files every packet read is written to (-w, each -C or -G rotation a new
 * one). Outputs read it to say "frame 12 of the run is frame 3 of b.pcap".
 * A value type, as common/stats.h: capture/ writes it, outputs only read it. */
#ifndef KW_FRAMES_H
#define KW_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Files remembered. A run of weeks with -G 60 writes more; when the list is
 * full, the oldest file is forgotten to make room (n_forgotten counts them),
 * and its frames are then in no file as far as the list can tell. */
#define KW_FRAME_FILES_MAX 4096

struct kw_frame_file {
    const char *name;     /* as given to -r ("-": standard input) or as written for
                           * -w; NULL when the file was written anew under the same
                           * name (-G without a time in the name): its frames are gone */
    uint64_t first_frame; /* the run's number of its first frame; its last is one
                           * before the next file's first, or the run's last frame */
    bool owned;           /* the list frees `name` when the file is forgotten */
};

struct kw_frame_files {
    struct kw_frame_file ring[KW_FRAME_FILES_MAX]; /* ring[head] is the oldest kept */
    uint32_t head, n;
    uint64_t n_forgotten; /* files dropped from the front, the oldest first */
    uint64_t last_frame;  /* the run's frames so far (0: none yet) */
};

/* Where frame `frame` of the run is: the name of its file and its number in
 * that file, from 1. False when it is in no file the list knows of: before
 * the first one kept (forgotten, or read before -w was open), in a file
 * written anew, not read yet, or 0. *name lives as long as the file is kept. */
bool kw_frame_files_find(const struct kw_frame_files *ff, uint64_t frame, const char **name,
                         uint64_t *frame_in_file);

/* The files kept, the oldest first: i from 0 to kw_frame_files_count() - 1. */
size_t kw_frame_files_count(const struct kw_frame_files *ff);
const struct kw_frame_file *kw_frame_files_at(const struct kw_frame_files *ff, size_t i);

/* --- for capture/, which fills the list ------------------------------------ */

/* The next file: its frames start at `first_frame` (one past the last frame
 * numbered so far). With `owned`, `name` was allocated with malloc and the
 * list frees it. With `rewritten`, a file kept under the same name was
 * replaced by this one: its entry keeps its place, without a name. */
void kw_frame_files_add(struct kw_frame_files *ff, const char *name, uint64_t first_frame,
                        bool owned, bool rewritten);

/* Forgets every file, freeing the names it owns. */
void kw_frame_files_clear(struct kw_frame_files *ff);

#endif
