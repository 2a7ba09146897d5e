/* extract.h: copies connections out of the capture files after the run
 * (--evidence). The inputs are read once more with libpcap, their frames
 * numbered as the run numbered them, and each connection's packets are
 * written to its own pcap file. Nothing is kept in memory during the run:
 * only the list of connections to copy. */
#ifndef KW_EXTRACT_H
#define KW_EXTRACT_H

#include <stddef.h>

#include "common/extract_job.h"
#include "common/frames.h"

/* Files written to at once; others are closed and reopened to append. */
#define KW_EXTRACT_OPEN_MAX 32

#define KW_EXTRACT_ERRBUF 512

/* Reads the files the run's frames are in, `files` (kw_cap_frame_files(): the
 * -r inputs, not standard input, which cannot be read twice; or the -w files
 * of a live run, stopped first), each frame numbered as the run numbered it,
 * with the run's BPF filter `bpf` (NULL: none; the -w files hold only what
 * passed it), and writes each job's
 * connection to job->path: both directions, from the last pure SYN of its
 * addresses and ports at or before its start (or, when there was none, the
 * first packet at or after its start) to its end frame, leaving out IP
 * fragments (their ports are not in every fragment). The files keep the
 * inputs' timestamps to the nanosecond. Fills in each job's results.
 * Allocates nothing per packet. Returns 0, or -1 with a sentence naming the
 * file in `err` (an input that cannot be read again, a file that cannot be
 * written); the jobs' files are then as far as they got. */
int kw_extract(const struct kw_frame_files *files, const char *bpf,
               struct kw_extract_job *jobs, size_t n_jobs, char err[KW_EXTRACT_ERRBUF]);

#endif
