/* extract_job.h: one connection to copy out of the capture files into a
 * capture file of its own (--evidence). The value output/ hands capture/
 * after the run: output/ knows which connections had findings, capture/
 * knows how to read the inputs again. */
#ifndef KW_EXTRACT_JOB_H
#define KW_EXTRACT_JOB_H

#include <stdint.h>

#include "common/flow.h"
#include "common/time.h"

#define KW_EXTRACT_MARKS_MAX 32

struct kw_extract_job {
    /* what to copy */
    struct kw_conn_key key;  /* the connection's addresses and ports, both directions */
    kw_usec start;           /* its start (the handshake), as the tracker saw it */
    uint64_t end_frame;      /* its last frame; 0: to the end of the input */
    const char *path;        /* the file to write (created, or emptied) */
    uint64_t marks[KW_EXTRACT_MARKS_MAX]; /* frames of the input to find in the file,
                                           * ascending: a finding's frames */
    uint8_t n_marks;
    /* what was copied, filled in by kw_extract() */
    uint64_t packets;                        /* written to the file */
    uint64_t first_frame, last_frame;        /* their first and last frames in the input */
    uint64_t marks_at[KW_EXTRACT_MARKS_MAX]; /* each mark's frame number in the file; 0: not in it */
    uint64_t other_linktype; /* packets left out: another link type than the file's first */
};

#endif
