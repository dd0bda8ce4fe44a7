/*
 * ctl_autoconfig - "posternctl autoconfig DOMAIN [--xml|--dns]": what a
 * domain's users and its zone need, from server.hostname and the ports of
 * the configured listeners (the first address of each list):
 * - the Thunderbird autoconfig file (config-v1.1.xml), to serve at
 *   https://autoconfig.DOMAIN/mail/config-v1.1.xml: IMAP first (mail
 *   programs take the first incoming server), then POP3, each over TLS and
 *   STARTTLS, submission over TLS and STARTTLS, the full address as login;
 * - zone file lines: MX, the SRV records of RFC 6186 (_imaps._tcp,
 *   _imap._tcp, _pop3s._tcp, _pop3._tcp, _submission._tcp) and RFC 8314
 *   (_submissions._tcp), SPF (the
 *   MX hosts send the domain's mail), the DKIM record of each key of the
 *   domain in dkim.keys_dir (or how to make one), and a DMARC record that
 *   starts in monitoring mode (p=none, reports to postmaster@DOMAIN).
 * Implicit TLS comes first in both, as RFC 8314 section 3 recommends. A
 * service with no listener gets the SRV "not offered" target "." (RFC 6186
 * section 3.4) and no entry in the XML.
 */
#include "ctl/ctl.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "dkim/dkim_keys.h"
#include "util/xalloc.h"

#define CTL_AUTOCONFIG_TTL 3600
#define CTL_AUTOCONFIG_DOMAIN_MAX 253
#define CTL_AUTOCONFIG_DKIM_MAX 16 /* keys of one domain printed */

/* One client-facing service: where it listens and how TLS starts. */
struct ctl_autoconfig_service {
	const char *srv;    /* "_pop3s._tcp" */
	const char *type;   /* "imap", "pop3" (incoming) or "smtp" (outgoing: submission) */
	const char *socket; /* socketType: "SSL" or "STARTTLS" */
	size_t listen_off;  /* offsetof the listen list in struct cfg */
	unsigned port;      /* filled from the configuration; 0: not offered */
};

/* ctl_autoconfig_port - the port of the first address of list; 0 when empty. */
static unsigned ctl_autoconfig_port(const struct cfg_list *list)
{
	const char *colon;

	if (list->n == 0 || (colon = strrchr(list->items[0], ':')) == NULL)
		return 0;
	return (unsigned)strtoul(colon + 1, NULL, 10);
}

/* ctl_autoconfig_domain - DOMAIN checked and lowercased into buf; -1 when it is not one. */
static int ctl_autoconfig_domain(const char *arg, char *buf, size_t size)
{
	size_t n = strlen(arg);

	if (n == 0 || n >= size || n > CTL_AUTOCONFIG_DOMAIN_MAX || arg[0] == '.' ||
	    arg[0] == '-' || strstr(arg, "..") != NULL)
		return -1;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (c != '\0' && !isalnum(c) && c != '-' && c != '.')
			return -1;
		buf[i] = (char)tolower(c);
	}
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0'; /* "example.org." is the same domain */
	return buf[0] != '\0' ? 0 : -1;
}

/* ctl_autoconfig_server - one incomingServer or outgoingServer element. */
static void ctl_autoconfig_server(const struct ctl_autoconfig_service *s, const char *host)
{
	const char *direction = strcmp(s->type, "smtp") == 0 ? "outgoing" : "incoming";

	printf("    <%sServer type=\"%s\">\n", direction, s->type);
	printf("      <hostname>%s</hostname>\n", host);
	printf("      <port>%u</port>\n", s->port);
	printf("      <socketType>%s</socketType>\n", s->socket);
	printf("      <username>%%EMAILADDRESS%%</username>\n");
	printf("      <authentication>password-cleartext</authentication>\n");
	printf("    </%sServer>\n", direction);
}

/* ctl_autoconfig_xml - the config-v1.1.xml document. */
static void ctl_autoconfig_xml(const struct ctl_autoconfig_service *svc, size_t n,
			       const char *domain, const char *host)
{
	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	printf("<clientConfig version=\"1.1\">\n");
	printf("  <emailProvider id=\"%s\">\n", domain);
	printf("    <domain>%s</domain>\n", domain);
	printf("    <displayName>%s mail</displayName>\n", domain);
	printf("    <displayShortName>%s</displayShortName>\n", domain);
	for (size_t i = 0; i < n; i++)
		if (svc[i].port != 0)
			ctl_autoconfig_server(&svc[i], host);
	printf("  </emailProvider>\n");
	printf("</clientConfig>\n");
}

/* ctl_autoconfig_dkim - the DKIM records of domain's keys, or how to make a key. */
static void ctl_autoconfig_dkim(const struct cfg *cfg, const char *domain)
{
	const struct dkim_keys_entry *found[CTL_AUTOCONFIG_DKIM_MAX];
	char *error = NULL;
	struct dkim_keys *keys = dkim_keys_load(cfg->dkim_keys_dir, &error);
	size_t n = 0;

	if (keys == NULL) {
		ctl_error("%s", error);
		free(error);
	} else {
		n = dkim_keys_find(keys, domain, found, CTL_AUTOCONFIG_DKIM_MAX);
	}
	for (size_t i = 0; i < n && i < CTL_AUTOCONFIG_DKIM_MAX; i++)
		ctl_dkim_print_key(found[i], false);
	if (n == 0)
		printf("; DKIM: %s has no key yet. Make one with \"posternctl dkim keygen %s\"\n"
		       "; and publish the record it prints.\n",
		       domain, domain);
	dkim_keys_free(&keys);
}

/* ctl_autoconfig_dmarc - the _dmarc record: monitoring only, aggregate reports to postmaster@. */
static void ctl_autoconfig_dmarc(const char *domain)
{
	char *name = xasprintf("_dmarc.%s", domain);
	char *text = xasprintf("v=DMARC1; p=none; rua=mailto:postmaster@%s", domain);

	printf("; DMARC: p=none only reports; once the reports show every sender passes SPF or\n"
	       "; DKIM, raise it to p=quarantine, then p=reject.\n");
	ctl_dkim_print_txt(name, text);
	free(text);
	free(name);
}

/* ctl_autoconfig_dns - the zone file lines: MX, SRV per service, SPF, DKIM, DMARC. */
static void ctl_autoconfig_dns(const struct cfg *cfg, const struct ctl_autoconfig_service *svc, size_t n,
			       const char *domain)
{
	const char *host = cfg->hostname;

	printf("; DNS records for %s (zone file syntax). %s needs A/AAAA records,\n"
	       "; and its address a PTR record naming it.\n",
	       domain, host);
	printf("%s. %d IN MX 10 %s.\n", domain, CTL_AUTOCONFIG_TTL, host);
	for (size_t i = 0; i < n; i++) {
		if (svc[i].port != 0)
			printf("%s.%s. %d IN SRV 0 1 %u %s.\n", svc[i].srv, domain,
			       CTL_AUTOCONFIG_TTL, svc[i].port, host);
		else
			printf("%s.%s. %d IN SRV 0 0 0 .\n", svc[i].srv, domain, CTL_AUTOCONFIG_TTL);
	}
	printf("; SPF: the hosts of the MX record send the domain's mail, nothing else does.\n");
	printf("%s. %d IN TXT \"v=spf1 mx -all\"\n", domain, CTL_AUTOCONFIG_TTL);
	ctl_autoconfig_dkim(cfg, domain);
	ctl_autoconfig_dmarc(domain);
}

/* ctl_autoconfig_usage - the synopsis on stderr; CTL_EXIT_USAGE. */
static int ctl_autoconfig_usage(void)
{
	fputs("usage: posternctl [-c FILE] autoconfig DOMAIN [--xml|--dns]\n", stderr);
	return CTL_EXIT_USAGE;
}

/* ctl_autoconfig_main - "autoconfig DOMAIN [--xml|--dns]": the XML, then the records. */
int ctl_autoconfig_main(const struct cfg *cfg, int argc, char **argv)
{
	struct ctl_autoconfig_service svc[] = {
		{ "_imaps._tcp", "imap", "SSL", offsetof(struct cfg, imap_listen_tls), 0 },
		{ "_imap._tcp", "imap", "STARTTLS", offsetof(struct cfg, imap_listen), 0 },
		{ "_pop3s._tcp", "pop3", "SSL", offsetof(struct cfg, pop3_listen_tls), 0 },
		{ "_pop3._tcp", "pop3", "STARTTLS", offsetof(struct cfg, pop3_listen), 0 },
		{ "_submissions._tcp", "smtp", "SSL", offsetof(struct cfg, submission_listen_tls), 0 },
		{ "_submission._tcp", "smtp", "STARTTLS", offsetof(struct cfg, submission_listen), 0 },
	};
	size_t n = sizeof(svc) / sizeof(svc[0]);
	char domain[CTL_AUTOCONFIG_DOMAIN_MAX + 2];
	bool xml = true, dns = true;

	if (argc < 2 || argc > 3)
		return ctl_autoconfig_usage();
	if (argc == 3 && (strcmp(argv[2], "--xml") == 0 || strcmp(argv[2], "--dns") == 0))
		xml = !(dns = strcmp(argv[2], "--dns") == 0);
	else if (argc == 3)
		return ctl_autoconfig_usage();
	if (strpbrk(cfg->hostname, "<>&\"'") != NULL) {
		ctl_error("server.hostname '%s' is not a host name", cfg->hostname);
		return CTL_EXIT_ERROR;
	}
	if (ctl_autoconfig_domain(argv[1], domain, sizeof(domain)) < 0) {
		ctl_error("'%s' is not a domain name", argv[1]);
		return CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		const void *list = (const char *)cfg + svc[i].listen_off;
		svc[i].port = ctl_autoconfig_port(list);
	}
	if (xml)
		ctl_autoconfig_xml(svc, n, domain, cfg->hostname);
	if (xml && dns)
		printf("\n");
	if (dns)
		ctl_autoconfig_dns(cfg, svc, n, domain);
	return CTL_EXIT_OK;
}
