/* The kernel's own cost of a Connection's socket kind: a 64-byte ping-pong between a parent and a
 * forked child over an AF_UNIX socketpair, SOCK_STREAM (what Python's Pipe and raw_ipc_bench use)
 * against SOCK_SEQPACKET (what mproc's Pipe uses, for its message boundaries), alternating per
 * round, each placement pinned: "same" (both on CPU 1) and "split" (parent CPU 0, child CPU 1).
 * No mproc code: it tells how much of a Pipe round trip's ratio to a stream socketpair is the
 * socket kind itself.
 *
 *   mproc_socket_kind_bench [rounds]     (default 5; prints every round, then the medians)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMessages = 20000, kWarmUp = 1000, kMaxRounds = 99 };

static void die(const char* what) {
  perror(what);
  exit(2);
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void exchange(int fd, char* buf) {
  if (send(fd, buf, 64, 0) != 64) die("send");
  if (recv(fd, buf, 64, MSG_WAITALL) != 64) die("recv");
}

/* Microseconds per round trip over a socketpair of `type`. */
static double round_trip_us(int type, int parent_cpu, int child_cpu) {
  int sv[2];
  char buf[64] = {0};
  if (socketpair(AF_UNIX, type, 0, sv) != 0) die("socketpair");
  const pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    pin(child_cpu);
    close(sv[0]);
    for (;;) {
      if (recv(sv[1], buf, 64, MSG_WAITALL) != 64) _exit(0);
      if (send(sv[1], buf, 64, 0) != 64) _exit(1);
    }
  }
  pin(parent_cpu);
  close(sv[1]);
  for (int i = 0; i < kWarmUp; ++i) exchange(sv[0], buf);
  const double start = now_s();
  for (int i = 0; i < kMessages; ++i) exchange(sv[0], buf);
  const double us = (now_s() - start) / kMessages * 1e6;
  close(sv[0]);
  waitpid(pid, NULL, 0);
  return us;
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double median(double* v, int n) {
  qsort(v, (size_t)n, sizeof *v, by_value);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 5;
  if (rounds < 1 || rounds > kMaxRounds) rounds = 5;
  static const struct { const char* name; int parent, child; } placements[] = {
      {"same", 1, 1}, {"split", 0, 1}};
  for (int p = 0; p < 2; ++p) {
    double stream[kMaxRounds], seqpacket[kMaxRounds], ratio[kMaxRounds];
    for (int r = 0; r < rounds; ++r) {
      /* The order flips every round, so that neither kind always runs on a warmer machine. */
      if (r % 2 == 0) {
        stream[r] = round_trip_us(SOCK_STREAM, placements[p].parent, placements[p].child);
        seqpacket[r] = round_trip_us(SOCK_SEQPACKET, placements[p].parent, placements[p].child);
      } else {
        seqpacket[r] = round_trip_us(SOCK_SEQPACKET, placements[p].parent, placements[p].child);
        stream[r] = round_trip_us(SOCK_STREAM, placements[p].parent, placements[p].child);
      }
      ratio[r] = seqpacket[r] / stream[r];
      fprintf(stderr, "%s round %d: stream %.2f us, seqpacket %.2f us, seqpacket/stream %.2f\n",
              placements[p].name, r + 1, stream[r], seqpacket[r], ratio[r]);
    }
    const double s = median(stream, rounds), q = median(seqpacket, rounds);
    printf("%-5s  stream %.2f us  seqpacket %.2f us  seqpacket/stream %.2fx (median of %d rounds)\n",
           placements[p].name, s, q, median(ratio, rounds), rounds);
  }
  return 0;
}
