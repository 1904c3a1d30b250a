/*
 * config.h: the exovmm configuration, as read from an INI file.
 *
 * A [exovmm] section holds settings for the whole monitor; one
 * [instance NAME] section describes each exokernel instance.  Every value
 * is checked while the file is read, so the rest of exovmm only ever sees a
 * complete, valid configuration.  See exovmm.conf(5).
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "exo/hvc.h"

#define VMM_NAME_MAX 32               /* instance name length, without NUL */
#define VMM_CHUNK_SIZE EXO_CHUNK_SIZE /* memory is granted in 2 MiB chunks */
#define VMM_MEMORY_MIN VMM_CHUNK_SIZE /* smallest instance */
/* Guest RAM lies below the 32-bit MMIO hole (LAPIC, IOAPIC). */
#define VMM_MEMORY_MAX (3ull << 30)
#define VMM_MEMORY_DEFAULT (64ull << 20)
#define VMM_CMDLINE_MAX 4095 /* bytes, without NUL; as PVH_CMDLINE_MAX */
#define VMM_WEIGHT_DEFAULT 256u
#define VMM_WEIGHT_MIN 1u
#define VMM_WEIGHT_MAX 65535u
#define VMM_TIMESLICE_DEFAULT_NS 30000000ull /* 30 ms, as Xen's credit scheduler */
#define VMM_TIMESLICE_MIN_NS 1000000ull       /* 1 ms */
#define VMM_TIMESLICE_MAX_NS 1000000000ull    /* 1 s */
#define VMM_METRICS_INTERVAL_DEFAULT_NS 1000000000ull /* 1 s */
#define VMM_METRICS_INTERVAL_MIN_NS 10000000ull	      /* 10 ms */
#define VMM_METRICS_INTERVAL_MAX_NS 3600000000000ull  /* 1 h */
#define VMM_REVOKE_DEADLINE_DEFAULT_NS 1000000000ull /* 1 s */
#define VMM_REVOKE_DEADLINE_MIN_NS 10000000ull	     /* 10 ms */
#define VMM_REVOKE_DEADLINE_MAX_NS 3600000000000ull  /* 1 h */
#define VMM_CAP_MAX 100u                      /* percent: all of one CPU */
#define VMM_MIB (1ull << 20)
#define VMM_MAX_INSTANCES 64

/*
 * The values of backend (exovmm.conf(5), exovmm --backend).  auto is KVM
 * where the host can run it, else Unicorn (main.c decides, once per run).
 */
#define VMM_BACKEND_AUTO "auto"
#define VMM_BACKEND_KVM "kvm"
#define VMM_BACKEND_UNICORN "unicorn"
#define VMM_BACKEND_DEFAULT VMM_BACKEND_AUTO

struct vmm_instance_config {
	char name[VMM_NAME_MAX + 1];
	int line;        /* line of the [instance NAME] header, for messages */
	char *image;     /* path, resolved as vmm_config_load says */
	char *initrd;    /* path, resolved likewise */
	char *cmdline;   /* never NULL; "" by default */
	uint64_t memory; /* bytes, a multiple of VMM_CHUNK_SIZE */
	uint64_t memory_min; /* 0: not set */
	uint64_t memory_max; /* 0: not set */
	unsigned weight;     /* VMM_WEIGHT_DEFAULT when not set */
	unsigned cap;        /* percent of one CPU; 0 = no cap */
	char *net;           /* NULL: no network */
	const char *backend; /* the [exovmm] backend unless set */
	/* [exovmm] revoke_deadline: how long the guest has to give memory
	 * back after its target is lowered (memory.c reads it here). */
	uint64_t revoke_deadline_ns;
};

struct vmm_config {
	char *path;          /* the file this was read from */
	char *log_dir;       /* NULL: console to the terminal only */
	/* One of the VMM_BACKEND_* strings, never a copy: "auto" by default. */
	const char *backend;
	unsigned cpus;       /* 0: all host CPUs */
	uint64_t timeslice_ns;
	char *metrics;       /* NULL: no metrics */
	uint64_t metrics_interval_ns;
	char *control;       /* the control socket's path; NULL: none */
	uint64_t revoke_deadline_ns; /* copied into every instance */
	struct vmm_instance_config *instances;
	size_t n_instances;
};

/*
 * Read and check the file at path.  Relative paths (image, initrd, log_dir,
 * metrics, control) are taken relative to the directory holding the file; an
 * instance without image or initrd gets default_image_dir/exo.elf and
 * default_image_dir/progs.cpio (default_image_dir must not be NULL).  On
 * error fills err with one line, "PATH:LINE: ..." (or "PATH: ..." for
 * faults of the whole file), and returns -1 with *cfg untouched (nothing
 * to free).
 */
int vmm_config_load(const char *path, const char *default_image_dir,
		    struct vmm_config *cfg, struct vmm_error *err);

void vmm_config_free(struct vmm_config *cfg);

/*
 * The values of the settings that can also change while instances run
 * (exoctl set), checked as in the file: weight ("256"), cap ("50%" or
 * "50") and memory ("64M", a multiple of VMM_CHUNK_SIZE).  On a bad value
 * they return -1 with err saying what was expected and what was given,
 * without naming the key (the caller knows where it came from).
 */
int vmm_parse_weight(const char *value, unsigned *out, struct vmm_error *err);
int vmm_parse_cap(const char *value, unsigned *out, struct vmm_error *err);
int vmm_parse_memory(const char *value, uint64_t *out, struct vmm_error *err);

/*
 * A backend name, as the file and exovmm --backend spell it: one of
 * VMM_BACKEND_AUTO, VMM_BACKEND_KVM and (when exovmm is built with
 * Unicorn) VMM_BACKEND_UNICORN, stored in *out as that constant.  Else -1
 * with err saying whether the name is unknown, not built into this
 * exovmm, or not built yet, and which names are accepted.
 */
int vmm_parse_backend(const char *value, const char **out, struct vmm_error *err);

#endif /* VMM_CONFIG_H */
