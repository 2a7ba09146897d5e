/* buffered.h: open a capture file through a 64 KiB stdio buffer, as keepwatch
 * does (capture/cap.c). libpcap reads a record at a time through stdio; with
 * the default 4 KiB buffer most of a reader's system time is read calls, so
 * every reader here uses the same buffer and the comparison stays fair. */
#ifndef BENCH_BUFFERED_H
#define BENCH_BUFFERED_H

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pcap_t *open_buffered(const char *path, char *err)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!fp) {
		snprintf(err, PCAP_ERRBUF_SIZE, "%s: cannot open", path);
		return NULL;
	}
	static char buf[1 << 16];
	setvbuf(fp, buf, _IOFBF, sizeof(buf));
	pcap_t *p = pcap_fopen_offline(fp, err);
	if (!p && fp != stdin)
		fclose(fp);
	return p;
}

#endif
