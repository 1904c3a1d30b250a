/*
 * memory.c: the memory quota layer for one instance (see memory.h).  Owns
 * the host reservation behind guest RAM, which chunks are granted (the
 * backend's memory slots, guest_mem.absent and mailbox.granted, kept in
 * step), the mailbox page, the target and its deadline, the release
 * hypercall's checks, and the forced path.
 *
 * Chunk c is backend memory slot c; the mailbox has slot EXO_CHUNKS_MAX.
 * A chunk leaves in this order: absent for exovmm's own accesses, slot
 * removed (the guest can no longer reach it), host memory dropped.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "exo/abi.h"
#include "instance.h"
#include "memory.h"
#include "monotonic.h"

#define MAILBOX_SLOT EXO_CHUNKS_MAX
#define NS_PER_MS 1000000ull
#define MEMORY_GROW_WAIT_MS 1000

static uint32_t chunks_of(uint64_t bytes)
{
	return (uint32_t)(bytes >> EXO_CHUNK_SHIFT);
}


static void mailbox_set_bit(struct exo_mailbox *mb, uint32_t c, bool granted)
{
	uint64_t bit = 1ull << (c % EXO_CHUNK_WORD_BITS);

	if (granted)
		__atomic_fetch_or(&mb->granted[c / EXO_CHUNK_WORD_BITS], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&mb->granted[c / EXO_CHUNK_WORD_BITS], ~bit, __ATOMIC_RELAXED);
}

/* Publish the changes made under the lock and interrupt the guest. */
static void mailbox_notify(struct instance *inst)
{
	struct vmm_error err;

	__atomic_fetch_add(&inst->memory.mailbox->seq, 1, __ATOMIC_RELEASE);
	if (inst->backend->interrupt(inst->vm, EXO_MAILBOX_VECTOR, &err) < 0)
		console_log(&inst->console, "memory: cannot interrupt the guest: %s", err.msg);
}

static int grant_chunk(struct instance *inst, uint32_t c, struct vmm_error *err)
{
	uint64_t gpa = (uint64_t)c << EXO_CHUNK_SHIFT;

	if (inst->backend->map_memory(inst->vm, c, gpa, inst->mem.host + gpa, EXO_CHUNK_SIZE,
				      err) < 0)
		return -1;
	guest_chunk_set_granted(&inst->mem, c, true);
	mailbox_set_bit(inst->memory.mailbox, c, true);
	inst->memory.granted_chunks++;
	return 0;
}

/* Take chunk c from the guest and give its memory back to the host. */
static int withdraw_chunk(struct instance *inst, uint32_t c, struct vmm_error *err)
{
	uint64_t gpa = (uint64_t)c << EXO_CHUNK_SHIFT;

	guest_chunk_set_granted(&inst->mem, c, false);
	if (inst->backend->unmap_memory(inst->vm, c, err) < 0) {
		guest_chunk_set_granted(&inst->mem, c, true);
		return -1;
	}
	mailbox_set_bit(inst->memory.mailbox, c, false);
	madvise(inst->mem.host + gpa, EXO_CHUNK_SIZE, MADV_DONTNEED);
	inst->memory.granted_chunks--;
	return 0;
}

static int map_mailbox(struct instance *inst, struct vmm_error *err)
{
	struct memory_state *m = &inst->memory;
	void *page = mmap(NULL, EXO_MAILBOX_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		return vmm_errorf(err, "cannot allocate the mailbox: %s", strerror(errno));
	m->mailbox = page;
	m->mailbox->min_chunks = m->min_chunks;
	m->mailbox->max_chunks = m->max_chunks;
	m->mailbox->target_chunks = m->target_chunks;
	m->mailbox->deadline_ns = m->revoke_deadline_ns;
	return inst->backend->map_memory(inst->vm, MAILBOX_SLOT, EXO_MAILBOX_GPA, page,
					 EXO_MAILBOX_SIZE, err);
}

int memory_init(struct instance *inst, struct vmm_error *err)
{
	const struct vmm_instance_config *cfg = inst->cfg;
	struct memory_state *m = &inst->memory;
	uint64_t min = cfg->memory_min ? cfg->memory_min : cfg->memory;
	uint64_t max = cfg->memory_max ? cfg->memory_max : cfg->memory;

	pthread_mutex_init(&m->lock, NULL);
	vmm_cond_init_monotonic(&m->grown);
	m->min_chunks = chunks_of(min);
	m->max_chunks = chunks_of(max);
	m->target_chunks = chunks_of(cfg->memory);
	m->revoke_deadline_ns = cfg->revoke_deadline_ns;
	inst->mem.host = mmap(NULL, max, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (inst->mem.host == MAP_FAILED) {
		inst->mem.host = NULL;
		return vmm_errorf(err, "cannot reserve %llu MiB of guest memory: %s",
				  (unsigned long long)(max >> 20), strerror(errno));
	}
	inst->mem.size = cfg->memory;
	inst->mem.reserved = max;
	inst->mem.initrd_top = min;
	for (uint32_t c = 0; c < m->max_chunks; c++)
		guest_chunk_set_granted(&inst->mem, c, false);
	if (map_mailbox(inst, err) < 0)
		return -1;
	for (uint32_t c = 0; c < m->target_chunks; c++)
		if (grant_chunk(inst, c, err) < 0)
			return -1;
	return 0;
}

void memory_destroy(struct instance *inst)
{
	struct memory_state *m = &inst->memory;

	if (inst->mem.host)
		munmap(inst->mem.host, inst->mem.reserved);
	if (m->mailbox)
		munmap(m->mailbox, EXO_MAILBOX_SIZE);
	inst->mem.host = NULL;
	m->mailbox = NULL;
	pthread_cond_destroy(&m->grown);
	pthread_mutex_destroy(&m->lock);
}

/* Grant the lowest chunks not granted until the target is met. */
static int grow(struct instance *inst, struct vmm_error *err)
{
	struct memory_state *m = &inst->memory;

	for (uint32_t c = 0; c < m->max_chunks && m->granted_chunks < m->target_chunks; c++)
		if (!guest_chunk_granted(&inst->mem, c) && grant_chunk(inst, c, err) < 0)
			return -1;
	return 0;
}

/*
 * Tell the guest the target, once the chunks a higher one needs are
 * granted; a lower one starts the deadline.  With the lock held.
 */
static void publish_target(struct instance *inst)
{
	struct memory_state *m = &inst->memory;

	m->mailbox->target_chunks = m->target_chunks;
	/* Asking again must not buy the guest more time. */
	if (m->granted_chunks <= m->target_chunks)
		m->deadline = 0;
	else if (!m->deadline)
		m->deadline = vmm_monotonic_ns() + m->revoke_deadline_ns;
	mailbox_notify(inst);
}

/* Kick the vCPU to grant what the target needs, and wait (a while) until it has. */
static int wait_grown(struct instance *inst, struct vmm_error *err)
{
	struct memory_state *m = &inst->memory;
	struct timespec ts = vmm_deadline(vmm_monotonic_ns() + MEMORY_GROW_WAIT_MS * NS_PER_MS);
	int rc = 0;

	inst->backend->kick(inst->vm);
	pthread_mutex_lock(&m->lock);
	while (m->grow_due && !atomic_load(&inst->finished) &&
	       pthread_cond_timedwait(&m->grown, &m->lock, &ts) == 0)
		;
	if (m->grow_failed) {
		*err = m->grow_error;
		m->grow_failed = false;
		rc = -1;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int memory_set_target(struct instance *inst, uint64_t bytes, struct vmm_error *err)
{
	struct memory_state *m = &inst->memory;
	bool kick = false;
	int rc = 0;

	if (bytes % EXO_CHUNK_SIZE)
		return vmm_errorf(err, "memory target %llu is not a multiple of %llu MiB",
				  (unsigned long long)bytes,
				  (unsigned long long)(EXO_CHUNK_SIZE >> 20));
	pthread_mutex_lock(&m->lock);
	if (chunks_of(bytes) < m->min_chunks)
		rc = vmm_errorf(err, "memory target %lluM is below memory_min (%lluM)",
				(unsigned long long)(bytes >> 20),
				(unsigned long long)m->min_chunks * (EXO_CHUNK_SIZE >> 20));
	else if (chunks_of(bytes) > m->max_chunks)
		rc = vmm_errorf(err, "memory target %lluM is above memory_max (%lluM)",
				(unsigned long long)(bytes >> 20),
				(unsigned long long)m->max_chunks * (EXO_CHUNK_SIZE >> 20));
	if (rc == 0) {
		m->target_chunks = chunks_of(bytes);
		/*
		 * Granting maps memory into the VM, which only the vCPU's own
		 * thread may do (an emulating backend is not thread-safe).
		 */
		kick = m->granted_chunks < m->target_chunks;
		m->grow_due = kick;
		m->grow_failed = false;
		if (!kick)
			publish_target(inst);
	}
	pthread_mutex_unlock(&m->lock);
	if (kick)
		rc = wait_grown(inst, err);
	return rc;
}

/* The highest granted chunk at or above min_chunks, or 0 if none. */
static uint32_t highest_takeable(const struct instance *inst)
{
	for (uint32_t c = inst->memory.max_chunks; c-- > inst->memory.min_chunks;)
		if (guest_chunk_granted(&inst->mem, c))
			return c;
	return 0;
}

/*
 * Past the deadline the vCPU is kicked out of the guest, and its own
 * thread takes the chunks (memory_take_due) before it enters again: the
 * guest never runs between a slot's removal and the interrupt that tells
 * it, so a kernel that takes the interrupt first never touches a chunk
 * it no longer has.
 */
void memory_tick(struct instance *inst, uint64_t now)
{
	struct memory_state *m = &inst->memory;
	bool kick;

	pthread_mutex_lock(&m->lock);
	kick = m->deadline && now >= m->deadline && !m->take_due;
	if (kick)
		m->take_due = true;
	pthread_mutex_unlock(&m->lock);
	if (kick)
		inst->backend->kick(inst->vm);
}

void memory_take_due(struct instance *inst)
{
	struct memory_state *m = &inst->memory;
	struct vmm_error err;
	uint32_t taken = 0, c;

	pthread_mutex_lock(&m->lock);
	if (m->grow_due) {
		m->grow_due = false;
		if (grow(inst, &err) < 0) {
			console_log(&inst->console, "memory: cannot grow to %u chunks: %s",
				    m->target_chunks, err.msg);
			m->target_chunks = m->granted_chunks; /* what it has is the target */
			m->grow_error = err;
			m->grow_failed = true;
		}
		publish_target(inst);
		pthread_cond_broadcast(&m->grown);
	}
	if (!m->take_due) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->take_due = false;
	while (m->granted_chunks > m->target_chunks && (c = highest_takeable(inst)) != 0) {
		if (withdraw_chunk(inst, c, &err) < 0) {
			/* The deadline stays: the next tick tries again. */
			console_log(&inst->console, "memory: cannot take chunk %u: %s", c, err.msg);
			break;
		}
		taken++;
	}
	if (m->granted_chunks <= m->target_chunks)
		m->deadline = 0;
	if (taken) {
		m->chunks_taken += taken;
		mailbox_notify(inst);
		console_log(&inst->console,
			    "memory: took %u chunks (%u MiB) by force: not given back within %llu ms",
			    taken, taken * (uint32_t)(EXO_CHUNK_SIZE >> 20),
			    (unsigned long long)(m->revoke_deadline_ns / NS_PER_MS));
	}
	pthread_mutex_unlock(&m->lock);
}

bool memory_release(struct instance *inst, uint32_t first, uint32_t count, int32_t *ret)
{
	struct memory_state *m = &inst->memory;
	bool running = true;
	struct vmm_error err;

	pthread_mutex_lock(&m->lock);
	*ret = EXO_HVC_OK;
	if (first < m->min_chunks || first >= m->max_chunks || count > m->max_chunks - first)
		*ret = EXO_HVC_EINVAL;
	for (uint32_t c = first; *ret == EXO_HVC_OK && c < first + count; c++)
		if (!guest_chunk_granted(&inst->mem, c))
			*ret = EXO_HVC_EINVAL;
	for (uint32_t c = first; *ret == EXO_HVC_OK && c < first + count; c++) {
		/*
		 * The host refused to remove a slot: the chunks before it are
		 * gone and this one is not, which the call cannot express.
		 */
		if (withdraw_chunk(inst, c, &err) < 0) {
			instance_stop(inst, "memory: cannot release chunk %u: %s", c, err.msg);
			running = false;
			break;
		}
		m->chunks_released++;
	}
	if (*ret == EXO_HVC_OK && count)
		__atomic_fetch_add(&m->mailbox->seq, 1, __ATOMIC_RELEASE);
	if (m->granted_chunks <= m->target_chunks)
		m->deadline = 0;
	pthread_mutex_unlock(&m->lock);
	return running;
}

void memory_stats(struct instance *inst, struct memory_stats *out)
{
	struct memory_state *m = &inst->memory;
	const struct exo_mailbox *mb = m->mailbox;

	pthread_mutex_lock(&m->lock);
	*out = (struct memory_stats){
		.granted = (uint64_t)m->granted_chunks << EXO_CHUNK_SHIFT,
		.used = __atomic_load_n(&mb->used_frames, __ATOMIC_RELAXED) * EXO_PAGE_SIZE,
		.target = (uint64_t)m->target_chunks << EXO_CHUNK_SHIFT,
		.min = (uint64_t)m->min_chunks << EXO_CHUNK_SHIFT,
		.max = (uint64_t)m->max_chunks << EXO_CHUNK_SHIFT,
		.revocations = __atomic_load_n(&mb->revocations, __ATOMIC_RELAXED),
		.chunks_released = m->chunks_released,
		.chunks_taken = m->chunks_taken,
	};
	pthread_mutex_unlock(&m->lock);
}

void memory_note_stolen(struct instance *inst, uint64_t stolen_ns)
{
	if (inst->memory.mailbox)
		__atomic_store_n(&inst->memory.mailbox->stolen_ns, stolen_ns,
				 __ATOMIC_RELAXED);
}

bool memory_withdrawn_access(struct instance *inst, uint64_t gpa)
{
	uint64_t chunk = gpa >> EXO_CHUNK_SHIFT;

	if (chunk >= inst->memory.max_chunks || guest_chunk_granted(&inst->mem, (uint32_t)chunk))
		return false;
	instance_stop(inst, "touched guest-physical 0x%llx in chunk %llu, which is not granted to it",
		      (unsigned long long)gpa, (unsigned long long)chunk);
	return true;
}
