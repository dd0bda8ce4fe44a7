/* diskprobe - the disk's own limit for durable Maildir deliveries, for make bench.
 *
 * postern's store (src/store/store_batch.c) makes a batch of messages durable
 * with one syncfs: each message is written once into an empty file of
 * queue/tmp, one syncfs makes the batch's text durable, each file is then
 * hard-linked into the Maildir's new/ and its tmp name unlinked, and the
 * next syncfs (which also carries the next batch's text) makes those links
 * durable; only then is the message acknowledged. The sync runs on a worker
 * thread while the event loop writes the next batch.
 *
 * This program does the same with no network and no parsing, so that what
 * it reaches is what the filesystem allows: a writer thread creates a file
 * in DIR/tmp, writes SIZE bytes into it and closes it; a syncer thread takes
 * the written files a batch at a time, runs syncfs, links each into DIR/new
 * under a Maildir name and unlinks its tmp name. A file counts once the
 * sync after its link has returned. Batches are either a fixed size B (the
 * writer keeps at most one batch ahead of the syncer, as postern's loop
 * writes during a sync) or "cN": N clients that each wait for their file to
 * be acknowledged before writing the next, the syncer taking whatever is
 * written (postern under N sessions with no CPU cost).
 *
 * Usage: diskprobe -d DIR [-b B|cN[,...]] [-t seconds] [-n files] [-s size]
 * Each batch setting runs in a fresh DIR/probe-SETTING-K (DIR must exist;
 * nothing is deleted, since mass deletions slow file creation on ext4 for a
 * while after). Prints one line per setting:
 *   batch=B files=N syncs=S seconds=T files_per_s=R per_sync=F cpu_s=C
 * (per_sync = files / syncs, as postern's messages / syncs: the last sync and
 * any that only made links durable count too).
 * Exit 0, 1 on an I/O error, 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAX_BATCH 100000

struct probe {
	const char *dir;     /* this setting's directory (tmp/, new/) */
	int dir_fd;          /* for syncfs */
	long batch;          /* fixed batch size, or 0 with clients */
	long clients;        /* closed loop: files written but not acknowledged, at most */
	double seconds;
	long max_files;
	char *data;
	size_t size;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long written, taken, acked; /* files so far, in order */
	long syncs;
	bool writer_done;
	int error;          /* errno of the first failure */
	const char *error_what;
	double t0, t_end;
};

/* probe_now - monotonic seconds. */
static double probe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* probe_fail - remember the first I/O error; both threads then stop. */
static void probe_fail(struct probe *p, const char *what)
{
	pthread_mutex_lock(&p->mu);
	if (p->error == 0) {
		p->error = errno ? errno : EIO;
		p->error_what = what;
	}
	p->writer_done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* probe_tmp_path - DIR/tmp/pool.I, as postern names its empty files. */
static void probe_tmp_path(const struct probe *p, long i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/tmp/pool.%ld", p->dir, i);
}

/* probe_new_path - DIR/new/NAME, a Maildir name like postern's. */
static void probe_new_path(const struct probe *p, long i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/new/1700000000.M%06ldP%dQ%ld.diskprobe,S=%zu,W=%zu", p->dir,
		 i % 1000000, (int)getpid(), i, p->size, p->size);
}

/* probe_write_one - create file i in tmp/, write the data, close; -1 on error. */
static int probe_write_one(struct probe *p, long i)
{
	char path[PATH_MAX];
	size_t off = 0;

	probe_tmp_path(p, i, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (off < p->size) {
		ssize_t n = write(fd, p->data + off, p->size - off);
		if (n < 0 && errno != EINTR) {
			close(fd);
			return -1;
		}
		off += n > 0 ? (size_t)n : 0;
	}
	return close(fd);
}

/* probe_may_write - whether the writer may start another file (mutex held). */
static bool probe_may_write(const struct probe *p)
{
	if (p->clients > 0)
		return p->written - p->acked < p->clients;
	return p->written - p->taken < p->batch;
}

/* probe_writer_cb - thread: write files until time or count is up. */
static void *probe_writer_cb(void *arg)
{
	struct probe *p = arg;

	for (long i = 0;; i++) {
		pthread_mutex_lock(&p->mu);
		while (!p->writer_done && !probe_may_write(p))
			pthread_cond_wait(&p->cv, &p->mu);
		bool stop = p->writer_done || probe_now() >= p->t0 + p->seconds ||
			    (p->max_files > 0 && i >= p->max_files);
		if (stop) {
			p->writer_done = true;
			pthread_cond_broadcast(&p->cv);
		}
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		if (probe_write_one(p, i) < 0) {
			probe_fail(p, "write");
			return NULL;
		}
		pthread_mutex_lock(&p->mu);
		p->written++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* probe_take - wait for the next batch; its size (0 once the writer is done and all taken). */
static long probe_take(struct probe *p, long linked)
{
	long n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		long ready = p->written - p->taken;
		if (p->error != 0)
			ready = 0;
		n = p->batch > 0 && ready > p->batch ? p->batch : ready;
		if (p->writer_done || (p->batch > 0 ? ready >= p->batch : ready > 0 || linked > 0))
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->taken += n;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* probe_link - link files [first, first+n) into new/ and unlink their tmp names. */
static int probe_link(struct probe *p, long first, long n)
{
	char tmp[PATH_MAX], dst[PATH_MAX];

	for (long i = first; i < first + n; i++) {
		probe_tmp_path(p, i, tmp, sizeof(tmp));
		probe_new_path(p, i, dst, sizeof(dst));
		if (link(tmp, dst) < 0 || unlink(tmp) < 0)
			return -1;
	}
	return 0;
}

/* probe_ack - the sync made the last batch's links durable: count them. */
static void probe_ack(struct probe *p, long n)
{
	pthread_mutex_lock(&p->mu);
	p->acked += n;
	p->syncs++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* probe_syncer - this thread: one syncfs per batch, then the batch's links. */
static void probe_syncer(struct probe *p)
{
	long linked = 0, first = 0;

	for (;;) {
		long n = probe_take(p, linked);
		if (n == 0 && linked == 0)
			break;
		if (syncfs(p->dir_fd) < 0) {
			probe_fail(p, "syncfs");
			break;
		}
		probe_ack(p, linked);
		if (probe_link(p, first, n) < 0) {
			probe_fail(p, "link");
			break;
		}
		first += n;
		linked = n;
	}
	p->t_end = probe_now();
}

/* probe_cpu - user+system CPU seconds of this process so far. */
static double probe_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* probe_mkdirs - DIR/probe-LABEL-K with tmp/ and new/; the path in buf, -1 on error. */
static int probe_mkdirs(const char *base, const char *label, char *buf, size_t size)
{
	char sub[PATH_MAX + 8];

	for (int k = 1; k < 1000; k++) {
		snprintf(buf, size, "%s/probe-%s-%d", base, label, k);
		if (mkdir(buf, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	snprintf(sub, sizeof(sub), "%s/tmp", buf);
	if (mkdir(sub, 0700) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s/new", buf);
	return mkdir(sub, 0700);
}

/* probe_run - one setting from start to the last acknowledged file; 0 or -1. */
static int probe_run(struct probe *p)
{
	pthread_t writer;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->written = p->taken = p->acked = p->syncs = 0;
	p->writer_done = false;
	p->t0 = probe_now();
	if (pthread_create(&writer, NULL, probe_writer_cb, p) != 0) {
		perror("diskprobe: pthread_create");
		return -1;
	}
	probe_syncer(p);
	pthread_join(writer, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	if (p->error != 0) {
		fprintf(stderr, "diskprobe: %s in %s: %s\n", p->error_what, p->dir,
			strerror(p->error));
		return -1;
	}
	return 0;
}

/* probe_setting - parse "B" or "cN" into p; -1 if neither. */
static int probe_setting(struct probe *p, const char *s)
{
	char *end;
	bool closed = s[0] == 'c';
	long v = strtol(closed ? s + 1 : s, &end, 10);

	if (*end != '\0' || v < 1 || v > PROBE_MAX_BATCH)
		return -1;
	p->batch = closed ? 0 : v;
	p->clients = closed ? v : 0;
	return 0;
}

/* probe_one - run one batch setting in a fresh directory and print its line. */
static int probe_one(struct probe *p, const char *base, const char *label)
{
	char dir[PATH_MAX];

	if (probe_setting(p, label) < 0) {
		fprintf(stderr, "diskprobe: bad batch setting '%s' (B or cN)\n", label);
		exit(2);
	}
	if (probe_mkdirs(base, label, dir, sizeof(dir)) < 0) {
		fprintf(stderr, "diskprobe: mkdir under %s: %s\n", base, strerror(errno));
		return -1;
	}
	p->dir = dir;
	p->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0 || syncfs(p->dir_fd) < 0) { /* start from a clean page cache */
		fprintf(stderr, "diskprobe: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	double cpu0 = probe_cpu();
	int rc = probe_run(p);
	double secs = p->t_end - p->t0, cpu = probe_cpu() - cpu0;
	close(p->dir_fd);
	if (rc < 0)
		return -1;
	printf("batch=%s files=%ld syncs=%ld seconds=%.3f files_per_s=%.1f per_sync=%.1f "
	       "cpu_s=%.3f\n", label, p->acked, p->syncs, secs, p->acked / (secs > 0 ? secs : 1),
	       (double)p->acked / (double)(p->syncs > 0 ? p->syncs : 1), cpu);
	fflush(stdout);
	return 0;
}

/* probe_usage - print the usage and exit 2. */
static void probe_usage(void)
{
	fprintf(stderr, "usage: diskprobe -d DIR [-b B|cN[,...]] [-t seconds] [-n files] "
			"[-s size]\n");
	exit(2);
}

/* main - parse the options, run each batch setting in turn. */
int main(int argc, char **argv)
{
	struct probe p = {.seconds = 3.0, .size = 10240};
	const char *base = NULL;
	char *batches = strdup("1,12,32"), *save = NULL;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "d:b:t:n:s:")) != -1) {
		if (opt == 'd')
			base = optarg;
		else if (opt == 'b')
			batches = strdup(optarg);
		else if (opt == 't')
			p.seconds = atof(optarg);
		else if (opt == 'n')
			p.max_files = atol(optarg);
		else if (opt == 's')
			p.size = (size_t)atol(optarg);
		else
			probe_usage();
	}
	if (base == NULL || batches == NULL || p.seconds <= 0 || p.size == 0 || optind != argc)
		probe_usage();
	if (strlen(base) > PATH_MAX / 2) { /* room for the probe's own names */
		fprintf(stderr, "diskprobe: directory name too long\n");
		return 2;
	}
	if ((p.data = malloc(p.size)) == NULL)
		return 1;
	for (size_t i = 0; i < p.size; i++) /* text lines, as a message */
		p.data[i] = (char)(i % 78 == 77 ? '\n' : 'a' + (int)(i % 26));
	for (char *b = strtok_r(batches, ",", &save); b != NULL; b = strtok_r(NULL, ",", &save))
		if (probe_one(&p, base, b) < 0)
			rc = 1;
	free(p.data);
	free(batches);
	return rc;
}
