/* progress.c: the progress line of a long read (progress.h). */
#include "output/progress.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_NS 500000000ll /* twice a second: readable, and no cost */

struct kw_progress {
    FILE *tty;
    uint64_t total;
    int64_t start_ns, drawn_ns;
    bool drawn;
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec;
}

struct kw_progress *kw_progress_new(FILE *tty, uint64_t total)
{
    if (!total || !isatty(fileno(tty)))
        return NULL;
    struct kw_progress *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL; /* no progress line is no harm */
    p->tty = tty;
    p->total = total;
    p->start_ns = now_ns();
    p->drawn_ns = p->start_ns - REDRAW_NS; /* the first call draws: the line shows at once */
    return p;
}

/* "812.4 MB": bytes in decimal units, as file managers show sizes. */
static void size_text(char *s, size_t n, double bytes)
{
    static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
    int u = 0;
    while (bytes >= 1000 && u < 4)
        bytes /= 1000, u++;
    snprintf(s, n, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

void kw_progress_show(struct kw_progress *p, uint64_t read)
{
    if (!p)
        return;
    int64_t now = now_ns();
    if (now - p->drawn_ns < REDRAW_NS)
        return;
    p->drawn_ns = now;
    double secs = (double)(now - p->start_ns) / 1e9;
    double rate = secs > 0 ? (double)read / secs : 0;
    char done[16], all[16], per[16];
    size_text(done, sizeof(done), (double)read);
    size_text(all, sizeof(all), (double)p->total);
    size_text(per, sizeof(per), rate);
    double left = read < p->total && rate > 0 ? (double)(p->total - read) / rate : 0;
    char eta[24];
    if (left >= 60 && left < 1e7)
        snprintf(eta, sizeof(eta), "%d min %02d s", (int)left / 60, (int)left % 60);
    else
        snprintf(eta, sizeof(eta), "%.0f s", left);
    /* \r and erase to the end of the line: the line is rewritten in place */
    fprintf(p->tty, "\r\x1b[Kkeepwatch: %s of %s (%.0f%%), %s/s, %s left", done, all,
            read < p->total ? 100.0 * (double)read / (double)p->total : 100.0, per, eta);
    fflush(p->tty);
    p->drawn = true;
}

void kw_progress_free(struct kw_progress *p)
{
    if (!p)
        return;
    if (p->drawn) {
        fputs("\r\x1b[K", p->tty);
        fflush(p->tty);
    }
    free(p);
}
