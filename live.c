/* live.c: signals, the clock, the wait and the privilege drop of a live run. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "live.h"

int live_signals_open(void)
{
    static const int taken[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        /* an ignored signal is dropped before it could be read: a shell
         * starts background jobs with SIGINT ignored, nohup SIGHUP */
        signal(taken[i], SIG_DFL);
        sigaddset(&set, taken[i]);
    }
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

enum live_signal live_signal_next(int signal_fd)
{
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(signal_fd, &si, sizeof(si));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(si))
            return LIVE_SIGNAL_NONE;
        switch (si.ssi_signo) {
        case SIGINT: case SIGTERM: return LIVE_SIGNAL_STOP;
        case SIGHUP: return LIVE_SIGNAL_REOPEN;
        case SIGUSR1: return LIVE_SIGNAL_STATS;
        }
    }
}

kw_usec live_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (kw_usec)now.tv_sec * KW_USEC_PER_SEC + now.tv_nsec / 1000;
}

void live_wait(int capture_fd, int signal_fd, int timeout_ms)
{
    struct pollfd fds[2] = { { .fd = capture_fd, .events = POLLIN },
                             { .fd = signal_fd, .events = POLLIN } };
    (void)poll(fds, 2, timeout_ms); /* EINTR or not: the caller looks at both */
}

int live_drop_privileges(const char *user, const char *own, char *err, size_t err_size)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, err_size, "-Z: no user '%s'%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    if (own && chown(own, pw->pw_uid, pw->pw_gid) < 0) {
        snprintf(err, err_size, "-Z: cannot give %s to %s: %s", own, user, strerror(errno));
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        snprintf(err, err_size, "-Z: cannot run as %s: %s", user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) { /* the drop must be for good */
        snprintf(err, err_size, "-Z: could get root back after becoming %s", user);
        return -1;
    }
    return 0;
}
