// delay-line: an emulated long link between two TUN devices, for tests and benchmarks (the kernel
// here has no netem). Each device is created inside its own network namespace; every IP packet
// read from one is written to the other after
//   - random loss (probability --loss),
//   - a rate limit (--rate-kbit) with a bounded drop-tail queue (--queue-bytes) in front of it,
//   - the one-way delay (--delay-us),
// independently in each direction. The devices are not persistent: they vanish when this process
// exits, and it exits when its parent dies (PR_SET_PDEATHSIG), on SIGTERM/SIGINT, or on a fatal
// error. SIGUSR1 prints the counters as one JSON line on stdout; they are printed at exit too.
//
//   delay-line --a NETNS:DEV --b NETNS:DEV --delay-us N --rate-kbit N [--queue-bytes N]
//              [--loss P] [--seed N]
// Prints "ready" on stdout once both devices exist (the caller then gives them addresses).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET 65536
#define READ_BATCH 256 /* packets read per device per wakeup, so one direction cannot starve the other */

struct entry {
  uint64_t deliver_at; /* ns, CLOCK_MONOTONIC */
  uint32_t len;        /* WRAP: the rest of the ring is unused, go to its start */
  uint32_t pad;
};
#define WRAP 0xffffffffu

struct direction {
  const char *name;
  int in_fd, out_fd;
  uint8_t *ring;
  size_t cap, head, tail, used; /* bytes; head = oldest entry, tail = where the next one goes */
  uint64_t busy_until;          /* ns: when the rate limiter has sent everything accepted so far */
  uint64_t in_pkts, in_bytes, out_pkts, out_bytes, lost, queue_drops, ring_drops, write_errors;
};

static uint64_t delay_ns, rate_bps, queue_bytes;
static double loss;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static volatile sig_atomic_t want_stats, want_exit;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double uniform01(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) / (double)(1ull << 53);
}

static void die(const char *what) {
  fprintf(stderr, "delay-line: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Creates TUN device `dev` inside network namespace `ns` (by name, /run/netns/NS). */
static int open_tun_in(const char *ns, const char *dev) {
  char path[512];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) die(path);
  if (setns(nsfd, CLONE_NEWNET) < 0) die("setns");
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (strlen(dev) >= IFNAMSIZ) {
    fprintf(stderr, "delay-line: device name %s is longer than %d characters\n", dev, IFNAMSIZ - 1);
    exit(1);
  }
  strcpy(ifr.ifr_name, dev);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) die("O_NONBLOCK");
  return fd;
}

static void split(char *arg, char **ns, char **dev) {
  char *colon = strchr(arg, ':');
  if (!colon) {
    fprintf(stderr, "delay-line: expected NETNS:DEV, got %s\n", arg);
    exit(2);
  }
  *colon = 0;
  *ns = arg;
  *dev = colon + 1;
}

/* Takes one packet into the direction's queue, or counts why not. */
static void accept_packet(struct direction *d, const uint8_t *pkt, size_t len, uint64_t now) {
  d->in_pkts++;
  d->in_bytes += len;
  if (loss > 0 && uniform01() < loss) {
    d->lost++;
    return;
  }
  uint64_t start = d->busy_until > now ? d->busy_until : now;
  uint64_t backlog = (start - now) * rate_bps / 8000000000ull; /* bytes still waiting to be sent */
  if (backlog + len > queue_bytes) {
    d->queue_drops++;
    return;
  }
  size_t need = (sizeof(struct entry) + len + 7) & ~(size_t)7;
  /* room at the tail, or at the start of the ring once the tail wraps */
  size_t at = d->tail;
  size_t waste = 0;
  if (d->used > 0 && d->tail <= d->head) {
    if (d->head - d->tail < need) {
      d->ring_drops++;
      return;
    }
  } else if (d->cap - d->tail < need) {
    if (d->head < need && d->used > 0) {
      d->ring_drops++;
      return;
    }
    waste = d->cap - d->tail;
    at = 0;
  }
  if (waste) {
    if (waste >= sizeof(struct entry)) ((struct entry *)(d->ring + d->tail))->len = WRAP;
    d->used += waste;
  }
  if (d->used == 0) d->head = at; /* an empty ring restarts wherever the entry goes */
  uint64_t done = start + (uint64_t)len * 8000000000ull / rate_bps;
  d->busy_until = done;
  struct entry *e = (struct entry *)(d->ring + at);
  e->deliver_at = done + delay_ns;
  e->len = (uint32_t)len;
  memcpy(d->ring + at + sizeof(struct entry), pkt, len);
  d->tail = at + need;
  d->used += need;
}

/* Skips the wasted end of the ring (a WRAP marker, or less than a header's room). */
static void skip_wrap(struct direction *d) {
  if (d->used == 0) return;
  if (d->cap - d->head < sizeof(struct entry) || ((struct entry *)(d->ring + d->head))->len == WRAP) {
    d->used -= d->cap - d->head;
    d->head = 0;
  }
}

/* Writes every packet whose time has come; returns when the next one is due (0: none queued). */
static uint64_t deliver_due(struct direction *d, uint64_t now) {
  for (;;) {
    skip_wrap(d);
    if (d->used == 0) return 0;
    struct entry *e = (struct entry *)(d->ring + d->head);
    if (e->deliver_at > now) return e->deliver_at;
    ssize_t w = write(d->out_fd, d->ring + d->head + sizeof(struct entry), e->len);
    if (w < 0)
      d->write_errors++;
    else {
      d->out_pkts++;
      d->out_bytes += e->len;
    }
    size_t need = (sizeof(struct entry) + e->len + 7) & ~(size_t)7;
    d->head += need;
    d->used -= need;
    if (d->used == 0) d->head = d->tail = 0;
  }
}

static void print_stats(struct direction *dirs) {
  printf("{\"ns\":%llu,", (unsigned long long)now_ns());
  for (int i = 0; i < 2; i++) {
    struct direction *d = &dirs[i];
    printf("%s\"%s\":{\"inPackets\":%llu,\"inBytes\":%llu,\"outPackets\":%llu,\"outBytes\":%llu,\"lost\":%llu,"
           "\"queueDrops\":%llu,\"ringDrops\":%llu,\"writeErrors\":%llu}",
           i ? "," : "", d->name, (unsigned long long)d->in_pkts, (unsigned long long)d->in_bytes,
           (unsigned long long)d->out_pkts, (unsigned long long)d->out_bytes, (unsigned long long)d->lost,
           (unsigned long long)d->queue_drops, (unsigned long long)d->ring_drops, (unsigned long long)d->write_errors);
  }
  printf("}\n");
  fflush(stdout);
}

static void on_signal(int sig) {
  if (sig == SIGUSR1)
    want_stats = 1;
  else
    want_exit = 1;
}

int main(int argc, char **argv) {
  char *a_ns = 0, *a_dev = 0, *b_ns = 0, *b_dev = 0;
  double delay_us = -1, rate_kbit = -1, qbytes = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--a"))
      split(argv[i + 1], &a_ns, &a_dev);
    else if (!strcmp(argv[i], "--b"))
      split(argv[i + 1], &b_ns, &b_dev);
    else if (!strcmp(argv[i], "--delay-us"))
      delay_us = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--rate-kbit"))
      rate_kbit = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--queue-bytes"))
      qbytes = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--loss"))
      loss = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed"))
      rng_state = strtoull(argv[i + 1], 0, 10) * 0x9e3779b97f4a7c15ull | 1;
    else {
      fprintf(stderr, "delay-line: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!a_ns || !b_ns || delay_us < 0 || rate_kbit <= 0 || loss < 0 || loss >= 1) {
    fprintf(stderr, "usage: delay-line --a NETNS:DEV --b NETNS:DEV --delay-us N --rate-kbit N [--queue-bytes N] "
                    "[--loss P] [--seed N]\n");
    return 2;
  }
  delay_ns = (uint64_t)(delay_us * 1000);
  rate_bps = (uint64_t)(rate_kbit * 1000);
  /* default queue: what the link sends in 50 ms, at least 64 KiB */
  queue_bytes = qbytes >= 0 ? (uint64_t)qbytes : rate_bps / 8 / 20;
  if (queue_bytes < 65536) queue_bytes = 65536;

  int a = open_tun_in(a_ns, a_dev);
  int b = open_tun_in(b_ns, b_dev);
  /* the ring holds everything on the wire plus the queue, with room to spare */
  size_t cap = (size_t)((double)rate_bps / 8 * (double)delay_ns / 1e9 * 2 + (double)queue_bytes * 2) + 8 * MAX_PACKET;
  if (cap < (16u << 20)) cap = 16u << 20;
  struct direction dirs[2] = {
      {.name = "aToB", .in_fd = a, .out_fd = b, .cap = cap},
      {.name = "bToA", .in_fd = b, .out_fd = a, .cap = cap},
  };
  for (int i = 0; i < 2; i++)
    if (!(dirs[i].ring = malloc(cap))) die("malloc");

  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) die("PR_SET_PDEATHSIG");
  if (getppid() != parent) return 1; /* the parent died before we asked */

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, 0);
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  signal(SIGPIPE, SIG_IGN);
  /* Real-time priority when allowed: on a busy machine a descheduled line would let packets pile up
     in the TUN queue and then take them in as one burst (queue drops the real link would not have).
     It uses a fraction of a core, and the kernel's RT throttling bounds it anyway. */
  struct sched_param sp = {.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) fprintf(stderr, "delay-line: no real-time priority (%s); timing may suffer on a busy machine\n", strerror(errno));
  printf("ready\n");
  fflush(stdout);

  static uint8_t buf[MAX_PACKET];
  struct pollfd fds[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
  while (!want_exit) {
    if (want_stats) {
      want_stats = 0;
      print_stats(dirs);
    }
    uint64_t now = now_ns();
    uint64_t next = 0;
    for (int i = 0; i < 2; i++) {
      uint64_t due = deliver_due(&dirs[i], now);
      if (due && (!next || due < next)) next = due;
    }
    struct timespec ts, *tsp = 0;
    if (next) {
      uint64_t wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    int n = ppoll(fds, 2, tsp, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    now = now_ns();
    for (int i = 0; i < 2; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      for (int k = 0; k < READ_BATCH; k++) {
        ssize_t r = read(dirs[i].in_fd, buf, sizeof buf);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          die("read");
        }
        if (r > 0) accept_packet(&dirs[i], buf, (size_t)r, now);
      }
    }
  }
  print_stats(dirs);
  return 0;
}
