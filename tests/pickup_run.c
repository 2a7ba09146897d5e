/* pickup_run.c: for tests/pickup.py, the reassembler and the tracker on one
 * capture, with connections picked up (kw_reasm_config.midstream) whatever
 * keepwatch's own default: the transactions and connections as JSON lines on
 * standard output, as `keepwatch --json` writes them (no rules, no servers).
 *
 * usage: pickup_run FILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap.h"
#include "http/track.h"
#include "output/out.h"
#include "reassembly/reasm.h"

struct reading {
    struct kw_cap *cap;
    struct kw_reasm *reasm;
};

static void read_packets(void *ctx)
{
    struct reading *rd = ctx;
    struct kw_pkt pkt;
    while (kw_cap_next(rd->cap, &pkt) == KW_CAP_PKT) {
        kw_reasm_tick(rd->reasm, pkt.ts);
        if (kw_reasm_feed(rd->reasm, &pkt) < 0)
            return;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: pickup_run FILE\n", stderr);
        return 2;
    }
    static struct kw_stats stats;
    char err[KW_CAP_ERRBUF > KW_REASM_ERRBUF ? KW_CAP_ERRBUF : KW_REASM_ERRBUF];
    const char *files[] = { argv[1] };
    struct kw_cap *cap = kw_cap_open_files(files, 1, NULL, &stats, stderr, err);
    if (!cap) {
        fprintf(stderr, "pickup_run: %s\n", err);
        return 2;
    }
    struct kw_out_options opts;
    memset(&opts, 0, sizeof(opts));
    struct kw_out *out = kw_out_new("json", stdout, &opts);
    struct kw_track *track = kw_track_new(65536, &stats);
    if (!out || !track || kw_track_subscribe(track, kw_out_txn_consumer(out)) < 0) {
        fputs("pickup_run: out of memory\n", stderr);
        return 2;
    }
    struct kw_reasm_config cfg = { KW_REASM_STREAMS_DEFAULT, KW_REASM_FLOW_TIMEOUT_DEFAULT,
                                   KW_REASM_IDLE_TIMEOUT_DEFAULT, true };
    struct kw_reasm *reasm = kw_reasm_new(&cfg, kw_track_reasm_sink(track), &stats, err);
    if (!reasm) {
        fprintf(stderr, "pickup_run: %s\n", err);
        return 2;
    }
    struct reading rd = { cap, reasm };
    int status = kw_reasm_run(reasm, read_packets, &rd) < 0 ? 2 : 0;
    kw_reasm_finish(reasm, kw_cap_latest_ts(cap));
    kw_out_stats(out, &stats, kw_cap_latest_ts(cap));
    kw_reasm_free(reasm);
    kw_track_free(track);
    kw_out_free(out);
    kw_cap_close(cap);
    return status;
}
