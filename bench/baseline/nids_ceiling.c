/* nids_ceiling: libnids over a capture file with nothing above it.
 * A TCP callback collects both halves of every connection and discards all
 * data (it never calls nids_discard, so libnids consumes everything), counting
 * the bytes delivered and the stream events. Checksums are not verified
 * (loopback captures carry partial checksums), the port-scan detector is off,
 * warnings are counted instead of going to syslog.
 * The stream table defaults to 65536 buckets, keepwatch's own
 * nids_params.n_tcp_streams, so both pay for the same preallocated table;
 * -n sets another size.
 * usage: nids_ceiling [-c] [-n N_TCP_STREAMS] FILE   (-c: keep checksum checks)
 * Build: cc -O2 -o nids_ceiling nids_ceiling.c -lnids -lpcap */
#include <nids.h>

#include "buffered.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t to_server, to_client, data_calls;
static uint64_t est, closed, reset, timed_out, exiting;
static uint64_t warnings[16];

static void on_tcp(struct tcp_stream *s, void **param)
{
	(void)param;
	switch (s->nids_state) {
	case NIDS_JUST_EST:
		s->client.collect++;
		s->server.collect++;
		est++;
		break;
	case NIDS_DATA:
		to_server += s->server.count_new;  /* client -> server */
		to_client += s->client.count_new;  /* server -> client */
		data_calls++;
		break;                             /* all new data discarded */
	case NIDS_CLOSE: closed++; break;
	case NIDS_RESET: reset++; break;
	case NIDS_TIMED_OUT: timed_out++; break;
	case NIDS_EXITING: exiting++; break;
	}
}

static void count_warning(int type, int err, struct ip *iph, void *data)
{
	(void)type; (void)iph; (void)data;
	warnings[(unsigned)err & 15]++;
}

int main(int argc, char **argv)
{
	int keep_checksums = 0, opt;
	int n_streams = 65536;                   /* keepwatch's default */
	while ((opt = getopt(argc, argv, "cn:")) != -1) {
		if (opt == 'c')
			keep_checksums = 1;
		else if (opt == 'n')
			n_streams = atoi(optarg);
		else
			return 2;
	}
	if (n_streams <= 0) {
		fprintf(stderr, "nids_ceiling: -n wants a positive number\n");
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: nids_ceiling [-c] [-n N] FILE\n");
		return 2;
	}
	char perr[PCAP_ERRBUF_SIZE];
	nids_params.pcap_desc = open_buffered(argv[optind], perr);
	if (!nids_params.pcap_desc) {
		fprintf(stderr, "%s\n", perr);
		return 1;
	}
	nids_params.n_tcp_streams = n_streams;
	nids_params.scan_num_hosts = 0;          /* no port-scan detection */
	nids_params.syslog = count_warning;      /* default: syslog() per warning */
	if (!keep_checksums) {
		static struct nids_chksum_ctl all = { 0, 0, NIDS_DONT_CHKSUM, 0 };
		nids_register_chksum_ctl(&all, 1);
	}
	if (!nids_init()) {
		fprintf(stderr, "nids_init: %s\n", nids_errbuf);
		return 1;
	}
	nids_register_tcp(on_tcp);
	nids_run();                              /* ends with nids_exit() */
	if (strcmp(nids_errbuf, "loop: ") != 0)
		fprintf(stderr, "libnids: %s\n", nids_errbuf);
	printf("established %llu closed %llu reset %llu timed_out %llu exiting %llu\n"
	       "bytes_to_server %llu bytes_to_client %llu total %llu data_callbacks %llu\n",
	       (unsigned long long)est, (unsigned long long)closed,
	       (unsigned long long)reset, (unsigned long long)timed_out,
	       (unsigned long long)exiting, (unsigned long long)to_server,
	       (unsigned long long)to_client,
	       (unsigned long long)(to_server + to_client),
	       (unsigned long long)data_calls);
	for (int i = 0; i < 16; i++)
		if (warnings[i])
			printf("warning %d (%s): %llu\n", i,
			       i < 10 ? nids_warnings[i] : "?",
			       (unsigned long long)warnings[i]);
	return 0;
}
