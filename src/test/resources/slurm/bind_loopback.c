/*
 * Preloaded into slurmdbd by the tests' Slurm set-up (SlurmCluster): slurmdbd 22.05 has no setting
 * for the address it listens on and binds every address, while everything a Hanse test starts must
 * listen on loopback only. This bind() turns "any address" into the loopback address.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *address, socklen_t length) {
  static int (*real_bind)(int, const struct sockaddr *, socklen_t);
  if (real_bind == NULL) {
    real_bind = (int (*)(int, const struct sockaddr *, socklen_t)) dlsym(RTLD_NEXT, "bind");
  }
  if (address != NULL && address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in loopback;
    memcpy(&loopback, address, sizeof loopback);
    if (loopback.sin_addr.s_addr == htonl(INADDR_ANY)) {
      loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return real_bind(fd, (const struct sockaddr *) &loopback, sizeof loopback);
    }
  }
  if (address != NULL && address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 loopback;
    memcpy(&loopback, address, sizeof loopback);
    if (memcmp(&loopback.sin6_addr, &in6addr_any, sizeof in6addr_any) == 0) {
      loopback.sin6_addr = in6addr_loopback;
      return real_bind(fd, (const struct sockaddr *) &loopback, sizeof loopback);
    }
  }
  return real_bind(fd, address, length);
}
