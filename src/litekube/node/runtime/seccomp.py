"""securityContext.seccompProfile → the OCI `linux.seccomp` section.

The kubelet puts the effective profile (container's, else the pod's) into
`Security.seccomp` as one string; `seccomp_section(profile, capabilities)` turns it into what
runc loads:
- "" or "Unconfined": no section (the kubelet's default without --seccomp-default);
- "RuntimeDefault": our default profile, shaped like containerd's: every syscall fails
  with EPERM (SCMP_ACT_ERRNO, defaultErrnoRet 1) unless listed. The list is the ordinary
  process syscalls; syscalls that reach past the container (mount, setns, unshare,
  kexec, modules, reboot, clock setting, bpf, perf, keyrings, ...) are allowed only when the
  container holds the capability that the kernel checks for them anyway. `clone` may not
  create namespaces without CAP_SYS_ADMIN, and `clone3` answers ENOSYS so libc falls back
  to `clone`, whose flags a filter can see;
- "Localhost/<path>": a profile file under the kubelet's seccomp root
  (`/var/lib/kubelet/seccomp`, upstream's), in Docker/containerd's JSON format
  (defaultAction, defaultErrnoRet, architectures, syscalls[names, action, args, errnoRet]);
  a missing or unreadable file is a `SeccompError` (the kubelet shows CreateContainerError):
  failed to generate seccomp spec opts: cannot load seccomp profile "/p.json": open /p.json: no such file or directory
"""

from __future__ import annotations

import errno
import os
import platform
from pathlib import Path
from typing import Any

import orjson

from litekube.node.runtime.base import RuntimeFailure

SECCOMP_ROOT = Path("/var/lib/kubelet/seccomp")
EPERM, ENOSYS = 1, 38
# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (what CAP_SYS_ADMIN guards)
CLONE_NAMESPACE_FLAGS = 0x7E020000


class SeccompError(RuntimeFailure):
    pass


# Syscalls any process may make. Grouped by job to make omissions easy to spot.
ALLOWED = """
read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 sendfile sendfile64
splice tee vmsplice copy_file_range
open openat openat2 close close_range creat dup dup2 dup3 fcntl fcntl64 flock fsync fdatasync
sync syncfs sync_file_range lseek _llseek truncate truncate64 ftruncate ftruncate64 fallocate
stat stat64 lstat lstat64 fstat fstat64 newfstatat fstatat64 statx statfs statfs64 fstatfs fstatfs64
access faccessat faccessat2 readlink readlinkat getdents getdents64 getcwd chdir fchdir
mkdir mkdirat rmdir rename renameat renameat2 link linkat symlink symlinkat unlink unlinkat
chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32 fchownat lchown lchown32 umask
utime utimes utimensat utimensat_time64 futimesat mknod mknodat
getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr
removexattr lremovexattr fremovexattr
inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark
memfd_create mmap mmap2 munmap mremap mprotect pkey_mprotect pkey_alloc pkey_free madvise
mlock mlock2 munlock mlockall munlockall mincore msync brk membarrier remap_file_pages
shmget shmat shmdt shmctl semget semop semtimedop semtimedop_time64 semctl msgget msgsnd
msgrcv msgctl mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive
mq_timedreceive_time64 mq_notify mq_getsetattr
pipe pipe2 select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create
epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd eventfd2 signalfd signalfd4
timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64
io_setup io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_submit io_cancel
io_uring_setup io_uring_enter io_uring_register
socket socketpair bind listen accept accept4 connect getsockname getpeername sendto recvfrom
send recv sendmsg recvmsg sendmmsg recvmmsg recvmmsg_time64 setsockopt getsockopt shutdown
socketcall
clone fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill
rt_sigaction rt_sigprocmask rt_sigreturn sigreturn rt_sigpending rt_sigtimedwait
rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo rt_sigsuspend sigaltstack sigprocmask
sigsuspend signal pause alarm pidfd_open pidfd_send_signal pidfd_getfd
getpid getppid gettid getpgid setpgid getpgrp getsid setsid getuid getuid32 geteuid geteuid32
getgid getgid32 getegid getegid32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid
setregid32 setresuid setresuid32 setresgid setresgid32 getresuid getresuid32 getresgid
getresgid32 setfsuid setfsuid32 setfsgid setfsgid32 getgroups getgroups32 setgroups setgroups32
capget capset prctl arch_prctl set_tid_address set_robust_list get_robust_list rseq
futex futex_time64 futex_waitv futex_wake futex_wait futex_requeue restart_syscall
sched_yield sched_getaffinity sched_setaffinity sched_getparam sched_setparam
sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min
sched_rr_get_interval sched_rr_get_interval_time64 sched_getattr sched_setattr getpriority
setpriority ioprio_get ioprio_set getcpu
nanosleep clock_nanosleep clock_nanosleep_time64 clock_gettime clock_gettime64 clock_getres
clock_getres_time64 gettimeofday time times getitimer setitimer timer_create timer_settime
timer_settime64 timer_gettime timer_gettime64 timer_getoverrun timer_delete adjtimex
getrlimit ugetrlimit setrlimit prlimit64 getrusage sysinfo uname olduname oldolduname
getrandom ioctl readahead fadvise64 fadvise64_64 arm_fadvise64_64 sethostname setdomainname
set_thread_area get_thread_area set_tls cacheflush breakpoint arm_sync_file_range
sync_file_range2 riscv_flush_icache landlock_create_ruleset landlock_add_rule
landlock_restrict_self seccomp process_mrelease ptrace personality
""".split()

# Syscalls allowed only with a capability (the kernel's own check then decides).
BY_CAPABILITY = {
    "CAP_SYS_ADMIN": """bpf clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie
        mount mount_setattr move_mount name_to_handle_at open_tree perf_event_open quotactl
        quotactl_fd setns syslog umount umount2 unshare""",
    "CAP_SYS_BOOT": "reboot",
    "CAP_SYS_CHROOT": "chroot",
    "CAP_SYS_MODULE": "delete_module init_module finit_module",
    "CAP_SYS_PACCT": "acct",
    "CAP_SYS_PTRACE": "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev",
    "CAP_SYS_RAWIO": "iopl ioperm",
    "CAP_SYS_TIME": "settimeofday stime clock_settime clock_settime64 clock_adjtime clock_adjtime64",
    "CAP_SYS_TTY_CONFIG": "vhangup",
    "CAP_SYS_NICE": "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    "CAP_SYSLOG": "syslog",
    "CAP_BPF": "bpf",
    "CAP_PERFMON": "perf_event_open",
}

ARCHITECTURES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


def runtime_default(capabilities: list[str], machine: str | None = None) -> dict[str, Any]:
    """Our RuntimeDefault profile for a container holding `capabilities` (the bounding set)."""
    held = set(capabilities)
    names = set(ALLOWED)
    for capability, extra in BY_CAPABILITY.items():
        if capability in held:
            names.update(extra.split())
    syscalls: list[dict[str, Any]] = []
    if "CAP_SYS_ADMIN" not in held:
        names.discard("clone")
        # clone may not make namespaces: flags & CLONE_NAMESPACE_FLAGS must be 0
        syscalls.append(
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [
                    {"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}
                ],
            }
        )
        # ENOSYS, not EPERM: glibc then retries with clone, which the filter above can inspect
        syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
    syscalls.insert(0, {"names": sorted(names), "action": "SCMP_ACT_ALLOW"})
    arch = ARCHITECTURES.get(machine or platform.machine(), [])
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        **({"architectures": arch} if arch else {}),
        "syscalls": syscalls,
    }


def localhost(relative: str, root: Path = SECCOMP_ROOT) -> dict[str, Any]:
    """A Localhost profile file, kept to the fields the OCI section has."""
    path = root / relative
    try:
        profile = orjson.loads(path.read_bytes())
    except OSError as e:
        reason = os.strerror(e.errno or errno.EIO).lower()
        raise SeccompError(
            f'failed to generate seccomp spec opts: cannot load seccomp profile "{path}": open {path}: {reason}'
        ) from None
    except orjson.JSONDecodeError as e:
        raise SeccompError(
            f"failed to generate seccomp spec opts: decoding seccomp profile failed: {e}"
        ) from None
    keys = ("defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath", "syscalls")
    return {key: profile[key] for key in keys if key in profile}


def seccomp_section(
    profile: str, capabilities: list[str], root: Path = SECCOMP_ROOT
) -> dict[str, Any] | None:
    """The `linux.seccomp` value for the kubelet's profile string, None for no filter."""
    if profile in ("", "Unconfined"):
        return None
    if profile == "RuntimeDefault":
        return runtime_default(capabilities)
    if profile.startswith("Localhost/"):
        return localhost(profile.removeprefix("Localhost/"), root)
    raise SeccompError(f"unknown seccomp profile type {profile!r}")


def effective_profile(pod: dict[str, Any], container: dict[str, Any]) -> str:
    """The container's seccompProfile, else the pod's, as one string ("" when neither sets one)."""
    for context in (container.get("securityContext"), (pod.get("spec") or {}).get("securityContext")):
        profile = (context or {}).get("seccompProfile") or {}
        kind = profile.get("type")
        if kind == "Localhost":
            return f"Localhost/{profile.get('localhostProfile', '')}"
        if kind:
            return str(kind)
    return ""
