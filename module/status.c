// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs status view: /sys/kernel/debug/ksalloc/allocators lists every
 * live allocator and the module-wide totals against the caps. A debugging
 * aid, not ABI; the sysfs attributes of the device are the stable counters.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "ksalloc.h"

static struct dentry *ksa_debugfs;

static int ksa_allocators_show(struct seq_file *m, void *unused)
{
	struct ksalloc_allocator *a;
	unsigned int n = 0;

	seq_puts(m, "id\tpid\tcomm\tframes\tframe_size\tstride\tallocated\thigh_water\twaiters\tevents\tbytes\tresetting\n");
	mutex_lock(&ksa_allocators_lock);
	list_for_each_entry(a, &ksa_allocators, node) {
		struct ksa_pool *pool = &a->pool;
		u32 allocated, high_water, waiters;
		bool resetting;

		spin_lock_irq(&pool->lock);
		allocated = pool->allocated_count;
		high_water = pool->high_water;
		waiters = pool->nwaiters;
		resetting = pool->resetting;
		spin_unlock_irq(&pool->lock);

		seq_printf(m, "%llu\t%d\t%s\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%llu\t%d\n",
			   a->id, a->owner_pid, a->owner_comm, pool->frames,
			   pool->frame_size, pool->stride, allocated,
			   high_water, waiters, READ_ONCE(a->events.count),
			   pool->bytes, resetting);
		n++;
	}
	mutex_unlock(&ksa_allocators_lock);

	seq_printf(m, "# allocators %u\n", n);
	seq_printf(m, "# total_bytes %lld max_total_bytes %lu\n",
		   atomic64_read(&ksa_total_bytes),
		   READ_ONCE(ksa_max_total_bytes));
	seq_printf(m, "# max_allocator_bytes %lu max_frames %u max_events %u max_user_bytes %lu\n",
		   READ_ONCE(ksa_max_allocator_bytes), READ_ONCE(ksa_max_frames),
		   READ_ONCE(ksa_max_events), READ_ONCE(ksa_max_user_bytes));
	ksa_account_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ksa_allocators);

void ksa_status_init(void)
{
	/* debugfs failures are not fatal: the module works without it */
	ksa_debugfs = debugfs_create_dir("ksalloc", NULL);
	debugfs_create_file("allocators", 0444, ksa_debugfs, NULL,
			    &ksa_allocators_fops);
}

void ksa_status_exit(void)
{
	debugfs_remove_recursive(ksa_debugfs);
}
