/*
 * cfg_private - what cfg.c (the line parser) and cfg_value.c (the key table
 * and the value types) share. Not for use outside src/config/.
 */
#ifndef POSTERN_CFG_PRIVATE_H
#define POSTERN_CFG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/cfg.h"

#define CFG_ESC_MAX 160 /* room for an escaped value in an error message */

/* Bits of cfg->explicit_keys: derived keys the file set itself. */
#define CFG_SET_USERS_FILE 0x1u
#define CFG_SET_RELAY_STORE 0x2u
#define CFG_SET_TLS_KEY 0x4u
#define CFG_SET_DKIM_KEYS_DIR 0x8u

/* cfg_key_apply - set [section] key = value; 0, or -1 with *msg_r (no FILE:LINE prefix). */
int cfg_key_apply(struct cfg *cfg, const char *section, const char *key, const char *value,
		  char **msg_r);

/* cfg_section_known - whether [name] is a section of the table (or routes). */
bool cfg_section_known(const char *name);

/* cfg_list_free - free the items of a list and empty it. */
void cfg_list_free(struct cfg_list *list);

/* cfg_list_add - append a copy of item. */
void cfg_list_add(struct cfg_list *list, const char *item);

/* cfg_escape - a printable, truncated copy of s for an error message. */
const char *cfg_escape(const char *s, char *buf, size_t buflen);

#endif
