// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc: Windows Kernel Streaming stream allocators for Linux.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include <linux/ksalloc.h>

static int ksa_open(struct inode *inode, struct file *file)
{
	return 0;
}

static int ksa_release(struct inode *inode, struct file *file)
{
	return 0;
}

static long ksa_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations ksa_pin_fops = {
	.owner = THIS_MODULE,
	.open = ksa_open,
	.release = ksa_release,
	.unlocked_ioctl = ksa_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice ksa_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ksalloc",
	.fops = &ksa_pin_fops,
	.mode = 0666,
};

static int __init ksa_init(void)
{
	return misc_register(&ksa_misc);
}

static void __exit ksa_exit(void)
{
	misc_deregister(&ksa_misc);
}

module_init(ksa_init);
module_exit(ksa_exit);
MODULE_DESCRIPTION("Kernel Streaming stream allocators");
MODULE_LICENSE("GPL");
