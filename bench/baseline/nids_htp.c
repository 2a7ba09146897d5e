/* nids_htp: libnids reassembly feeding libhtp (Suricata's HTTP/1.x parser).
 * The same libnids set-up as nids_ceiling (checksums off, no port-scan
 * detection, warnings counted); every TCP connection gets a libhtp connection
 * parser, client->server bytes go to htp_connp_req_data and server->client
 * bytes to htp_connp_res_data; completed requests and responses are counted.
 * A reference point for "libnids + an existing HTTP/1.x parser"; not a
 * persistence analyser (it keeps no per-connection verdict).
 * The stream table defaults to 65536 buckets, as in nids_ceiling and keepwatch.
 * usage: nids_htp [-n N_TCP_STREAMS] FILE
 * Build: cc -O2 -o nids_htp nids_htp.c -lnids -lpcap -lhtp */
#include <nids.h>

#include "buffered.h"
#include <htp/htp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static htp_cfg_t *cfg;
static uint64_t conns, reqs, resps, req_10, req_11, req_other, status_200;
static uint64_t stream_error, data_other, closed_streams;
static uint64_t warnings[16];

static int on_request(htp_tx_t *tx)
{
	reqs++;
	if (tx->request_protocol_number == HTP_PROTOCOL_1_1)
		req_11++;
	else if (tx->request_protocol_number == HTP_PROTOCOL_1_0)
		req_10++;
	else
		req_other++;
	return HTP_OK;
}

static int on_response(htp_tx_t *tx)
{
	resps++;
	if (tx->response_status_number == 200)
		status_200++;
	return HTP_OK;
}

static void feed(int rc)
{
	if (rc == HTP_STREAM_ERROR)
		stream_error++;
	else if (rc == HTP_STREAM_DATA_OTHER)
		data_other++;   /* not handled: counted, must stay 0 here */
}

static void on_tcp(struct tcp_stream *s, void **param)
{
	htp_connp_t *c = *param;
	htp_time_t ts = nids_last_pcap_header->ts;
	char cli[16], srv[16];

	switch (s->nids_state) {
	case NIDS_JUST_EST:
		s->client.collect++;
		s->server.collect++;
		c = htp_connp_create(cfg);
		if (!c) {
			fprintf(stderr, "htp_connp_create failed\n");
			exit(1);
		}
		snprintf(cli, sizeof cli, "%u.%u.%u.%u", s->addr.saddr & 255,
		         s->addr.saddr >> 8 & 255, s->addr.saddr >> 16 & 255, s->addr.saddr >> 24);
		snprintf(srv, sizeof srv, "%u.%u.%u.%u", s->addr.daddr & 255,
		         s->addr.daddr >> 8 & 255, s->addr.daddr >> 16 & 255, s->addr.daddr >> 24);
		htp_connp_open(c, cli, s->addr.source, srv, s->addr.dest, &ts);
		*param = c;
		conns++;
		break;
	case NIDS_DATA:
		if (s->server.count_new)   /* client -> server */
			feed(htp_connp_req_data(c, &ts, s->server.data, s->server.count_new));
		if (s->client.count_new)   /* server -> client */
			feed(htp_connp_res_data(c, &ts, s->client.data, s->client.count_new));
		break;
	default:   /* NIDS_CLOSE, NIDS_RESET, NIDS_TIMED_OUT, NIDS_EXITING */
		if (c) {
			htp_connp_close(c, &ts);
			htp_connp_destroy_all(c);
			*param = NULL;
			closed_streams++;
		}
		break;
	}
}

static void count_warning(int type, int err, struct ip *iph, void *data)
{
	(void)type; (void)iph; (void)data;
	warnings[(unsigned)err & 15]++;
}

int main(int argc, char **argv)
{
	int opt, n_streams = 65536;   /* keepwatch's default */
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt == 'n')
			n_streams = atoi(optarg);
		else
			return 2;
	}
	if (n_streams <= 0) {
		fprintf(stderr, "nids_htp: -n wants a positive number\n");
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: nids_htp [-n N] FILE\n");
		return 2;
	}
	cfg = htp_config_create();
	htp_config_set_server_personality(cfg, HTP_SERVER_IDS);
	htp_config_set_tx_auto_destroy(cfg, 1);
	htp_config_register_request_complete(cfg, on_request);
	htp_config_register_response_complete(cfg, on_response);

	char perr[PCAP_ERRBUF_SIZE];
	nids_params.pcap_desc = open_buffered(argv[optind], perr);
	if (!nids_params.pcap_desc) {
		fprintf(stderr, "%s\n", perr);
		return 1;
	}
	nids_params.n_tcp_streams = n_streams;
	nids_params.scan_num_hosts = 0;
	nids_params.syslog = count_warning;
	static struct nids_chksum_ctl all = { 0, 0, NIDS_DONT_CHKSUM, 0 };
	nids_register_chksum_ctl(&all, 1);
	if (!nids_init()) {
		fprintf(stderr, "nids_init: %s\n", nids_errbuf);
		return 1;
	}
	nids_register_tcp(on_tcp);
	nids_run();   /* ends with nids_exit(): NIDS_EXITING for open streams */
	printf("connections %llu closed %llu requests %llu (HTTP/1.1 %llu HTTP/1.0 %llu other %llu)"
	       " responses %llu (200: %llu) stream_errors %llu data_other %llu\n",
	       (unsigned long long)conns, (unsigned long long)closed_streams,
	       (unsigned long long)reqs, (unsigned long long)req_11,
	       (unsigned long long)req_10, (unsigned long long)req_other,
	       (unsigned long long)resps, (unsigned long long)status_200,
	       (unsigned long long)stream_error, (unsigned long long)data_other);
	for (int i = 0; i < 16; i++)
		if (warnings[i])
			printf("warning %d (%s): %llu\n", i, i < 10 ? nids_warnings[i] : "?",
			       (unsigned long long)warnings[i]);
	htp_config_destroy(cfg);
	return 0;
}
