// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc-demo: open /dev/ksalloc, tell what it is, and show that an ioctl
 * the device does not know fails with ENOTTY. Exits 0 when all of that
 * went as expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/ksalloc.h>

#define KSA_DEV "/dev/ksalloc"

int main(void)
{
	struct stat st;
	int fd, ret;

	fd = open(KSA_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ksalloc-demo: open %s: %s\n", KSA_DEV, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "ksalloc-demo: fstat: %s\n", strerror(errno));
		return 1;
	}
	printf("ksalloc-demo: %s is a %s, device %u:%u, mode %04o\n", KSA_DEV,
	       S_ISCHR(st.st_mode) ? "character device" : "non-device",
	       major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777);

	ret = ioctl(fd, _IO(KS_IOCTL_TYPE, 0x3F));
	if (ret != -1 || errno != ENOTTY) {
		fprintf(stderr, "ksalloc-demo: unknown ioctl returned %d (%s), expected ENOTTY\n",
			ret, ret == -1 ? strerror(errno) : "success");
		return 1;
	}
	printf("ksalloc-demo: unknown ioctl 0x%x failed with ENOTTY, as it should\n",
	       (unsigned int)_IO(KS_IOCTL_TYPE, 0x3F));

	close(fd);
	return 0;
}
