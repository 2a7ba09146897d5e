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
