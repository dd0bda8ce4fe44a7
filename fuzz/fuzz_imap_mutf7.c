// FUZZ_SOURCES: src/imap/imap_mutf7.c
/*
 * fuzz_imap_mutf7 - modified UTF-7 on hostile bytes: whatever the decoder
 * accepts encodes back to the very same bytes (it refuses every
 * non-canonical form); whatever the encoder accepts decodes back to the
 * input; a folder name that maps to a Maildir++ directory maps back to a
 * name that gives the same directory, and a directory that maps to a name
 * maps back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_decode_encode - decode, then encode must give the input again. */
static void fuzz_decode_encode(const char *in, size_t size)
{
	size_t dsize = IMAP_MUTF7_DECODE_MAX(size), dlen, elen;
	char *dec = malloc(dsize), *enc;
	const char *err = NULL;

	if (dec == NULL)
		return;
	if (imap_mutf7_decode(in, size, dec, dsize, &dlen, &err) < 0) {
		if (err == NULL)
			abort();
		free(dec);
		return;
	}
	enc = malloc(IMAP_MUTF7_ENCODE_MAX(dlen));
	if (enc == NULL ||
	    imap_mutf7_encode(dec, dlen, enc, IMAP_MUTF7_ENCODE_MAX(dlen), &elen, &err) < 0 ||
	    elen != size || memcmp(enc, in, size) != 0)
		abort();
	free(enc);
	free(dec);
}

/* fuzz_encode_decode - encode (if valid UTF-8), then decode must give the input again. */
static void fuzz_encode_decode(const char *in, size_t size)
{
	size_t esize = IMAP_MUTF7_ENCODE_MAX(size), elen, dlen;
	char *enc = malloc(esize), *dec;
	const char *err = NULL;

	if (enc == NULL)
		return;
	if (imap_mutf7_encode(in, size, enc, esize, &elen, &err) < 0) {
		free(enc);
		return;
	}
	for (size_t i = 0; i < elen; i++) {
		if (enc[i] < 0x20 || enc[i] > 0x7e)
			abort();
	}
	dec = malloc(IMAP_MUTF7_DECODE_MAX(elen));
	if (dec == NULL ||
	    imap_mutf7_decode(enc, elen, dec, IMAP_MUTF7_DECODE_MAX(elen), &dlen, &err) < 0 ||
	    dlen != size || memcmp(dec, in, size) != 0)
		abort();
	free(dec);
	free(enc);
}

/* fuzz_folders - name -> dir -> name -> dir is stable; dir -> name -> dir gives dir. */
static void fuzz_folders(const char *s)
{
	char dir[IMAP_MUTF7_DIR_MAX + 1], dir2[IMAP_MUTF7_DIR_MAX + 1], name[2048], name2[2048];
	const char *err;

	if (imap_mutf7_folder_to_dir(s, dir, sizeof(dir), &err) == 0) {
		if (strlen(dir) > IMAP_MUTF7_DIR_MAX || strchr(dir, '/') != NULL ||
		    imap_mutf7_dir_to_folder(dir, name, sizeof(name), &err) < 0 ||
		    imap_mutf7_folder_to_dir(name, dir2, sizeof(dir2), &err) < 0 ||
		    strcmp(dir, dir2) != 0 || strcasecmp(name, s) != 0)
			abort();
	}
	if (imap_mutf7_dir_to_folder(s, name, sizeof(name), &err) == 0 && strcmp(s, ".") != 0) {
		if (imap_mutf7_folder_to_dir(name, dir, sizeof(dir), &err) < 0 || strcmp(dir, s) != 0)
			abort();
		if (imap_mutf7_dir_to_folder(dir, name2, sizeof(name2), &err) < 0 ||
		    strcmp(name, name2) != 0)
			abort();
	}
}

/* LLVMFuzzerTestOneInput - the input as mUTF-7, as UTF-8, and as a folder or directory name. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	fuzz_decode_encode(buf, size);
	fuzz_encode_decode(buf, size);
	buf[size] = '\0';
	if (strlen(buf) == size && size < 1024)
		fuzz_folders(buf);
	free(buf);
	return 0;
}
