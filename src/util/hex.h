/* hex - hexadecimal digits, for the parsers that meet them (xtext, URLs, GUIDs). */
#ifndef POSTERN_HEX_H
#define POSTERN_HEX_H

/* hex_digit - the value of the hex digit c (either case), or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
