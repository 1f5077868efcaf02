// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc: Windows Kernel Streaming stream allocators for Linux.
 *
 * /dev/ksalloc is a misc device; every open is a pin (pin.c). Allocators
 * are anon-inode files (allocator.c) whose frames are pages (frames.c)
 * that devices reach through dma-bufs (dmabuf.c) or the kernel API
 * (kapi.c), mapped for each device by its driver. This file holds the
 * module parameters, the module-wide accounting and the device.
 */
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "ksalloc.h"

/*
 * Room for 8 frames of 3840x2160 YUY2 (16.6 MB each) in one allocator, and
 * for a few such allocators in all; memory cgroups bound each user on top.
 */
unsigned long ksa_max_allocator_bytes = 256UL << 20;
module_param_named(max_allocator_bytes, ksa_max_allocator_bytes, ulong, 0644);
MODULE_PARM_DESC(max_allocator_bytes,
		 "Most bytes of frame memory one allocator may hold (default 256 MiB)");

/*
 * One allocator at max_allocator_bytes per user, half of max_total_bytes:
 * one user cannot take what every other user needs (account.c).
 */
unsigned long ksa_max_user_bytes = 256UL << 20;
module_param_named(max_user_bytes, ksa_max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Most bytes of frame memory the allocators one user (real uid, root included) created may hold (default 256 MiB)");

unsigned long ksa_max_total_bytes = 512UL << 20;
module_param_named(max_total_bytes, ksa_max_total_bytes, ulong, 0644);
MODULE_PARM_DESC(max_total_bytes,
		 "Most bytes of frame memory all allocators together may hold (default 512 MiB)");

unsigned int ksa_max_frames = 1024;
module_param_named(max_frames, ksa_max_frames, uint, 0644);
MODULE_PARM_DESC(max_frames, "Most frames per allocator (default 1024)");

unsigned int ksa_max_events = 64;
module_param_named(max_events, ksa_max_events, uint, 0644);
MODULE_PARM_DESC(max_events,
		 "Most events enabled at once per allocator (default 64)");

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

/* The largest frame KSALLOC_CREATEF_CONTIGUOUS allows */
static ssize_t max_contiguous_bytes_show(struct device *dev,
					 struct device_attribute *attr,
					 char *buf)
{
	return sysfs_emit(buf, "%zu\n", ksa_frame_max_contiguous());
}
static DEVICE_ATTR_RO(max_contiguous_bytes);

/* 1: an io_uring ALLOC with no frame free is queued; 0: it fails (EAGAIN) */
static ssize_t uring_queue_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", ksa_uring_can_queue());
}
static DEVICE_ATTR_RO(uring_queue);

static struct attribute *ksa_attrs[] = {
	&dev_attr_allocators.attr,
	&dev_attr_total_bytes.attr,
	&dev_attr_max_contiguous_bytes.attr,
	&dev_attr_uring_queue.attr,
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

static int __init ksa_init(void)
{
	int ret;

	ksa_status_init();
	/* Last: from here on user space can reach everything. */
	ret = misc_register(&ksa_misc);
	if (ret)
		ksa_status_exit();
	return ret;
}

static void __exit ksa_exit(void)
{
	misc_deregister(&ksa_misc);
	ksa_status_exit();
}

module_init(ksa_init);
module_exit(ksa_exit);
MODULE_DESCRIPTION("Kernel Streaming stream allocators");
MODULE_LICENSE("GPL");
