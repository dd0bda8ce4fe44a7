/* imap_date - IMAP search dates and date-times, RFC 5322 Date: values; see imap_date.h. */
#include "imap/imap_date.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char imap_date_months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* A cursor over the text being parsed. */
struct imap_date_cur {
	const char *p, *end;
};

/* imap_date_day_from_civil - days since the epoch (H. Hinnant's algorithm). */
int64_t imap_date_day_from_civil(int64_t year, unsigned month, unsigned mday)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + mday - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* imap_date_civil_from_day - the inverse of imap_date_day_from_civil. */
static void imap_date_civil_from_day(int64_t z, int64_t *year_r, unsigned *month_r,
				     unsigned *mday_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*mday_r = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month_r = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year_r = yoe + era * 400 + (*month_r <= 2);
}

/* imap_date_floor_div - a / b rounded towards minus infinity (b > 0). */
static int64_t imap_date_floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* imap_date_day - the calendar day of t in zone tzoff. */
int64_t imap_date_day(time_t t, int tzoff)
{
	return imap_date_floor_div((int64_t)t + tzoff, 86400);
}

/* imap_date_mdays - days in month (1-12) of year. */
static unsigned imap_date_mdays(int64_t year, unsigned month)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* imap_date_month_index - 1-12 for a three-letter month name (any case), or 0. */
static unsigned imap_date_month_index(const char *s, size_t len)
{
	if (len < 3)
		return 0;
	for (unsigned i = 0; i < 12; i++)
		if (strncasecmp(s, imap_date_months[i], 3) == 0)
			return i + 1;
	return 0;
}

/* imap_date_digits - read min..max decimal digits at the cursor. */
static int imap_date_digits(struct imap_date_cur *c, size_t min, size_t max, unsigned *v_r)
{
	size_t n = 0;
	unsigned v = 0;

	while (n < max && c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (unsigned)(*c->p++ - '0');
		n++;
	}
	*v_r = v;
	return n >= min ? 0 : -1;
}

/* imap_date_char - consume ch at the cursor. */
static int imap_date_char(struct imap_date_cur *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

/* imap_date_unquote - a cursor over s, surrounding double quotes dropped. */
static void imap_date_unquote(const char *s, size_t len, struct imap_date_cur *c)
{
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	c->p = s;
	c->end = s + len;
}

/* imap_date_dmy - "d-Mon-yyyy" at the cursor, checked against the calendar. */
static int imap_date_dmy(struct imap_date_cur *c, int64_t *day_r)
{
	unsigned mday, month, year;

	if (c->p < c->end && *c->p == ' ')
		c->p++; /* date-day-fixed: SP DIGIT */
	if (imap_date_digits(c, 1, 2, &mday) < 0 || imap_date_char(c, '-') < 0 ||
	    c->end - c->p < 3)
		return -1;
	month = imap_date_month_index(c->p, 3);
	c->p += 3;
	if (month == 0 || imap_date_char(c, '-') < 0 || imap_date_digits(c, 4, 4, &year) < 0)
		return -1;
	if (mday < 1 || mday > imap_date_mdays(year, month))
		return -1;
	*day_r = imap_date_day_from_civil(year, month, mday);
	return 0;
}

/* imap_date_parse_search - "1-Feb-1994" as a day number. */
int imap_date_parse_search(const char *s, size_t len, int64_t *day_r, const char **error_r)
{
	struct imap_date_cur c;

	imap_date_unquote(s, len, &c);
	if (c.p < c.end && *c.p == ' ') {
		*error_r = "invalid date (expected d-Mon-yyyy)";
		return -1;
	}
	if (imap_date_dmy(&c, day_r) < 0 || c.p != c.end) {
		*error_r = "invalid date (expected d-Mon-yyyy)";
		return -1;
	}
	return 0;
}

/* imap_date_hms - "hh:mm:ss" at the cursor, as seconds into the day. */
static int imap_date_hms(struct imap_date_cur *c, int64_t *secs_r)
{
	unsigned h, m, s;

	if (imap_date_digits(c, 2, 2, &h) < 0 || imap_date_char(c, ':') < 0 ||
	    imap_date_digits(c, 2, 2, &m) < 0 || imap_date_char(c, ':') < 0 ||
	    imap_date_digits(c, 2, 2, &s) < 0 || h > 23 || m > 59 || s > 60)
		return -1;
	*secs_r = h * 3600 + m * 60 + (s == 60 ? 59 : s);
	return 0;
}

/* imap_date_zone - "+hhmm" / "-hhmm" at the cursor, as seconds east of UTC. */
static int imap_date_zone(struct imap_date_cur *c, int *tzoff_r)
{
	unsigned hhmm;
	int sign;

	if (c->p >= c->end || (*c->p != '+' && *c->p != '-'))
		return -1;
	sign = *c->p++ == '-' ? -1 : 1;
	if (imap_date_digits(c, 4, 4, &hhmm) < 0 || hhmm / 100 > 23 || hhmm % 100 > 59)
		return -1;
	*tzoff_r = sign * (int)((hhmm / 100) * 3600 + (hhmm % 100) * 60);
	return 0;
}

/* imap_date_parse_datetime - "05-Dec-2026 00:10:17 +0000" as an instant and a zone. */
int imap_date_parse_datetime(const char *s, size_t len, time_t *t_r, int *tzoff_r,
			     const char **error_r)
{
	struct imap_date_cur c;
	int64_t day, secs;
	int tzoff;

	imap_date_unquote(s, len, &c);
	if (imap_date_dmy(&c, &day) < 0 || imap_date_char(&c, ' ') < 0 ||
	    imap_date_hms(&c, &secs) < 0 || imap_date_char(&c, ' ') < 0 ||
	    imap_date_zone(&c, &tzoff) < 0 || c.p != c.end) {
		*error_r = "invalid date-time (expected \"dd-Mon-yyyy hh:mm:ss +zzzz\")";
		return -1;
	}
	*t_r = (time_t)(day * 86400 + secs - tzoff);
	*tzoff_r = tzoff;
	return 0;
}

/* imap_date_put2 - two decimal digits of v at p. */
static void imap_date_put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* imap_date_format_datetime - "05-Dec-2026 00:10:17 +0000". */
void imap_date_format_datetime(time_t t, int tzoff, char buf[IMAP_DATETIME_LEN + 1])
{
	int64_t local = (int64_t)t + tzoff, day = imap_date_day(t, tzoff), year;
	int64_t secs = local - day * 86400;
	unsigned month, mday, off = (unsigned)(tzoff < 0 ? -tzoff : tzoff) / 60;

	imap_date_civil_from_day(day, &year, &month, &mday);
	if (year < 0 || year > 9999)
		year = year < 0 ? 0 : 9999;
	memcpy(buf, "dd-Mon-yyyy hh:mm:ss +zzzz", IMAP_DATETIME_LEN + 1);
	imap_date_put2(buf, mday);
	memcpy(buf + 3, imap_date_months[month - 1], 3);
	imap_date_put2(buf + 7, (unsigned)(year / 100));
	imap_date_put2(buf + 9, (unsigned)(year % 100));
	imap_date_put2(buf + 12, (unsigned)(secs / 3600));
	imap_date_put2(buf + 15, (unsigned)(secs / 60 % 60));
	imap_date_put2(buf + 18, (unsigned)(secs % 60));
	buf[21] = tzoff < 0 ? '-' : '+';
	imap_date_put2(buf + 22, off / 60 % 100);
	imap_date_put2(buf + 24, off % 60);
}

/* What a Date: value has given so far (0 = not seen). */
struct imap_date_parts {
	unsigned mday, month, year, year_digits;
	int64_t secs;
	int tzoff;
	bool have_time, have_zone;
};

/* Named zones: RFC 5322 section 4.3, and a few that mailers still write. */
static const struct {
	const char *name;
	int hours;
} imap_date_zones[] = {
	{ "UT", 0 },   { "UTC", 0 },  { "GMT", 0 },  { "Z", 0 },    { "EST", -5 },
	{ "EDT", -4 }, { "CST", -6 }, { "CDT", -5 }, { "MST", -7 }, { "MDT", -6 },
	{ "PST", -8 }, { "PDT", -7 }, { "WET", 0 },  { "WEST", 1 }, { "BST", 1 },
	{ "CET", 1 },  { "MET", 1 },  { "CEST", 2 }, { "MEST", 2 }, { "EET", 2 },
	{ "EEST", 3 }, { "MSK", 3 },  { "IST", 5 },  { "JST", 9 },  { "KST", 9 },
};

/* imap_date_word - an alphabetic token: a month, a weekday (ignored) or a zone name. */
static void imap_date_word(struct imap_date_parts *d, const char *s, size_t len)
{
	static const char *const full[12] = { "january", "february", "march",     "april",
					      "may",     "june",     "july",      "august",
					      "september", "october", "november", "december" };
	unsigned month = imap_date_month_index(s, len);

	if (month != 0 && d->month == 0 && len <= strlen(full[month - 1]) &&
	    strncasecmp(s, full[month - 1], len) == 0) {
		d->month = month;
		return;
	}
	for (size_t i = 0; i < sizeof(imap_date_zones) / sizeof(imap_date_zones[0]); i++) {
		if (!d->have_zone && strlen(imap_date_zones[i].name) == len &&
		    strncasecmp(s, imap_date_zones[i].name, len) == 0) {
			d->tzoff = imap_date_zones[i].hours * 3600;
			d->have_zone = true;
			return;
		}
	}
}

/* imap_date_time_token - "hh:mm" or "hh:mm:ss"; -1 when malformed. */
static int imap_date_time_token(struct imap_date_parts *d, const char *s, size_t len)
{
	struct imap_date_cur c = { s, s + len };
	unsigned h, m, sec = 0;

	if (imap_date_digits(&c, 1, 2, &h) < 0 || imap_date_char(&c, ':') < 0 ||
	    imap_date_digits(&c, 2, 2, &m) < 0)
		return -1;
	if (c.p < c.end && (imap_date_char(&c, ':') < 0 || imap_date_digits(&c, 2, 2, &sec) < 0))
		return -1;
	if (c.p != c.end || h > 23 || m > 59 || sec > 60)
		return -1;
	if (!d->have_time)
		d->secs = h * 3600 + m * 60 + (sec == 60 ? 59 : sec);
	d->have_time = true;
	return 0;
}

/* imap_date_number_token - a signed zone, a day of the month or a year. */
static int imap_date_number_token(struct imap_date_parts *d, const char *s, size_t len)
{
	struct imap_date_cur c = { s, s + len };
	unsigned v;

	if (s[0] == '+' || s[0] == '-') {
		int tzoff;
		if (imap_date_zone(&c, &tzoff) == 0 && c.p == c.end && !d->have_zone) {
			d->tzoff = tzoff;
			d->have_zone = true;
		}
		return 0;
	}
	if (len > 4 || imap_date_digits(&c, len, len, &v) < 0)
		return -1;
	if (d->mday == 0 && len <= 2 && v >= 1) {
		d->mday = v;
	} else if (d->year_digits == 0) {
		d->year = v;
		d->year_digits = (unsigned)len;
	}
	return 0;
}

/* imap_date_token - classify one token of a Date: value. */
static int imap_date_token(struct imap_date_parts *d, const char *s, size_t len)
{
	if (memchr(s, ':', len) != NULL)
		return imap_date_time_token(d, s, len);
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-')
		return imap_date_number_token(d, s, len);
	imap_date_word(d, s, len);
	return 0;
}

/* imap_date_skip_comment - past a (possibly nested) comment starting at *p. */
static const char *imap_date_skip_comment(const char *p, const char *end)
{
	size_t depth = 0;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return end;
}

/* imap_date_is_word - a character of a token (letters, digits, ':'). */
static bool imap_date_is_word(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       ch == ':';
}

/* imap_date_tokens - each token to imap_date_token; a sign starts one only after a space. */
static int imap_date_tokens(struct imap_date_parts *d, const char *p, const char *end)
{
	bool after_space = true;

	while (p < end) {
		if (*p == '(') {
			p = imap_date_skip_comment(p, end);
			after_space = true;
			continue;
		}
		const char *start = p;
		if ((*p == '+' || *p == '-') && after_space && p + 1 < end && p[1] >= '0' && p[1] <= '9')
			p++;
		while (p < end && imap_date_is_word(*p))
			p++;
		if (p == start) {
			after_space = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ',';
			p++;
			continue;
		}
		if (imap_date_token(d, start, (size_t)(p - start)) < 0)
			return -1;
		after_space = memchr(start, ':', (size_t)(p - start)) != NULL; /* "00:10:17+0100" */
	}
	return 0;
}

/* imap_date_parse_rfc5322 - a Date: value, leniently (RFC 5322 3.3 and 4.3). */
int imap_date_parse_rfc5322(const char *s, size_t len, time_t *t_r, int *tzoff_r)
{
	struct imap_date_parts d = { 0 };

	if (imap_date_tokens(&d, s, s + len) < 0 || d.mday == 0 || d.month == 0 ||
	    d.year_digits == 0)
		return -1;
	if (d.year_digits <= 2)
		d.year += d.year < 50 ? 2000 : 1900;
	else if (d.year_digits == 3)
		d.year += 1900;
	if (d.year < 1900 || d.mday > imap_date_mdays(d.year, d.month))
		return -1;
	*t_r = (time_t)(imap_date_day_from_civil(d.year, d.month, d.mday) * 86400 + d.secs -
			d.tzoff);
	*tzoff_r = d.tzoff;
	return 0;
}
