/* time.c: formatting of kw_usec. */
#include "common/time.h"

#include <stdio.h>
#include <time.h>

size_t kw_time_iso8601(kw_usec t, char out[KW_ISO8601_LEN])
{
    int64_t sec = t / KW_USEC_PER_SEC, us = t % KW_USEC_PER_SEC;
    if (us < 0) { /* before 1970: floor, so the fraction stays positive */
        us += KW_USEC_PER_SEC;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return (size_t)snprintf(out, KW_ISO8601_LEN, "invalid-time");
    int n = snprintf(out, KW_ISO8601_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)us);
    return n < 0 ? 0 : (size_t)n;
}

size_t kw_time_iso8601_local(kw_usec t, char out[KW_ISO8601_LEN])
{
    int64_t sec = t / KW_USEC_PER_SEC, us = t % KW_USEC_PER_SEC;
    if (us < 0) {
        us += KW_USEC_PER_SEC;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return (size_t)snprintf(out, KW_ISO8601_LEN, "invalid-time");
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    int n = snprintf(out, KW_ISO8601_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02ld:%02ld",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)us, sign, off / 60, off % 60);
    return n < 0 ? 0 : (size_t)n;
}

size_t kw_time_secs(kw_usec d, char out[KW_DURATION_LEN])
{
    uint64_t a = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    uint64_t sec = a / KW_USEC_PER_SEC, us = a % KW_USEC_PER_SEC;
    char tmp[20];
    size_t n = 0, o = 0;
    do {
        tmp[n++] = (char)('0' + sec % 10);
        sec /= 10;
    } while (sec);
    if (d < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o++] = '.';
    for (int i = 5; i >= 0; i--, us /= 10)
        out[o + (size_t)i] = (char)('0' + us % 10);
    o += 6;
    out[o] = '\0';
    return o;
}

size_t kw_time_human(kw_usec d, char out[KW_DURATION_LEN])
{
    int n = d < KW_USEC_PER_SEC ? snprintf(out, KW_DURATION_LEN, "%.1f ms", (double)d / 1000.0)
                                : snprintf(out, KW_DURATION_LEN, "%.3f s",
                                           (double)d / KW_USEC_PER_SEC);
    return n < 0 ? 0 : (size_t)n;
}
