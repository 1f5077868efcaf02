// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc: Windows Kernel Streaming stream allocators for Linux.
 *
 * /dev/ksalloc is a misc device; every open is a pin (pin.c). Allocators
 * are anon-inode files (allocator.c) whose frames come from the DMA API
 * for the misc device (pool.c). This file holds the module parameters, the
 * module-wide accounting and the device.
 */
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "ksalloc.h"

unsigned long ksa_max_allocator_bytes = 64UL << 20;
module_param_named(max_allocator_bytes, ksa_max_allocator_bytes, ulong, 0644);
MODULE_PARM_DESC(max_allocator_bytes,
		 "Most bytes of frame memory one allocator may hold (default 64 MiB)");

unsigned long ksa_max_total_bytes = 256UL << 20;
module_param_named(max_total_bytes, ksa_max_total_bytes, ulong, 0644);
MODULE_PARM_DESC(max_total_bytes,
		 "Most bytes of frame memory all allocators together may hold (default 256 MiB)");

unsigned int ksa_max_frames = 1024;
module_param_named(max_frames, ksa_max_frames, uint, 0644);
MODULE_PARM_DESC(max_frames, "Most frames per allocator (default 1024)");

unsigned int ksa_max_events = 64;
module_param_named(max_events, ksa_max_events, uint, 0644);
MODULE_PARM_DESC(max_events,
		 "Most events enabled at once per allocator (default 64)");

static unsigned int ksa_dma_bits = 64;
module_param_named(dma_bits, ksa_dma_bits, uint, 0444);
MODULE_PARM_DESC(dma_bits,
		 "DMA address bits of frame memory, 32 to 64 (default 64; 32 for legacy devices)");

/* Bytes of frame memory held by all allocators, against max_total_bytes */
atomic64_t ksa_total_bytes = ATOMIC64_INIT(0);

static ssize_t allocators_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct ksalloc_allocator *a;
	unsigned int n = 0;

	mutex_lock(&ksa_allocators_lock);
	list_for_each_entry(a, &ksa_allocators, node)
		n++;
	mutex_unlock(&ksa_allocators_lock);
	return sysfs_emit(buf, "%u\n", n);
}
static DEVICE_ATTR_RO(allocators);

static ssize_t total_bytes_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&ksa_total_bytes));
}
static DEVICE_ATTR_RO(total_bytes);

static struct attribute *ksa_attrs[] = {
	&dev_attr_allocators.attr,
	&dev_attr_total_bytes.attr,
	NULL
};
ATTRIBUTE_GROUPS(ksa);

static struct miscdevice ksa_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ksalloc",
	.fops = &ksa_pin_fops,
	.groups = ksa_groups,
	/* Pins and allocators are per-open objects: any user may stream. */
	.mode = 0666,
};

/* The device frame memory is allocated for (its DMA mask applies). */
struct device *ksa_dma_device(void)
{
	return ksa_misc.this_device;
}

static int __init ksa_init(void)
{
	int ret;

	if (ksa_dma_bits < 32 || ksa_dma_bits > 64)
		return -EINVAL;
	ret = misc_register(&ksa_misc);
	if (ret)
		return ret;
	/* The misc device has no bus to set a mask: force ours. */
	ret = dma_coerce_mask_and_coherent(ksa_misc.this_device,
					   DMA_BIT_MASK(ksa_dma_bits));
	if (ret) {
		misc_deregister(&ksa_misc);
		return ret;
	}
	ksa_status_init();
	return 0;
}

static void __exit ksa_exit(void)
{
	ksa_status_exit();
	misc_deregister(&ksa_misc);
}

module_init(ksa_init);
module_exit(ksa_exit);
MODULE_DESCRIPTION("Kernel Streaming stream allocators");
MODULE_LICENSE("GPL");
