/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ks-compat.h: the Windows KS spellings on top of libksalloc, for code
 * ported from Windows that should keep reading like its original:
 *
 *	KSALLOCATOR_FRAMING framing = { ... };
 *	HANDLE allocator;
 *	NTSTATUS status = KsCreateAllocator(pin, &framing, &allocator);
 *	if (!NT_SUCCESS(status))
 *		...
 *
 * Types are typedefs of the uapi structures (same layout as ks.h), handles
 * are file descriptors (the null handle is -1, not 0), and NTSTATUS
 * values come from the errno the kernel returned, following the table in
 * <linux/ksalloc.h>; errno is set as well on failure, since the mapping is
 * many-to-one. Names the including program already defines (GUID, HANDLE,
 * STATUS_*) are left alone.
 */
#ifndef _KS_COMPAT_H
#define _KS_COMPAT_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "libksalloc.h"

/* KsCreateAllocator() below makes close-on-exec fds (POSIX.1-2008) */
#ifndef O_CLOEXEC
#error "ks-compat.h needs O_CLOEXEC: define _GNU_SOURCE or _POSIX_C_SOURCE >= 200809L"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct ksguid GUID;
#endif

#ifndef KS_COMPAT_NO_HANDLE
typedef int HANDLE, *PHANDLE;
#endif
#ifndef INVALID_HANDLE_VALUE
#define INVALID_HANDLE_VALUE	KS_NULL_HANDLE
#endif

typedef int32_t NTSTATUS;
#ifndef NT_SUCCESS
#define NT_SUCCESS(status)	((NTSTATUS)(status) >= 0)
#endif

/* ntstatus.h values of the statuses the errno table speaks of */
#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS			((NTSTATUS)0x00000000L)
#endif
#ifndef STATUS_ALERTED
#define STATUS_ALERTED			((NTSTATUS)0x00000101L)
#endif
#ifndef STATUS_TIMEOUT
#define STATUS_TIMEOUT			((NTSTATUS)0x00000102L)
#endif
#ifndef STATUS_PENDING
#define STATUS_PENDING			((NTSTATUS)0x00000103L)
#endif
#ifndef STATUS_BUFFER_OVERFLOW
#define STATUS_BUFFER_OVERFLOW		((NTSTATUS)0x80000005L)
#endif
#ifndef STATUS_UNSUCCESSFUL
#define STATUS_UNSUCCESSFUL		((NTSTATUS)0xC0000001L)
#endif
#ifndef STATUS_ACCESS_VIOLATION
#define STATUS_ACCESS_VIOLATION		((NTSTATUS)0xC0000005L)
#endif
#ifndef STATUS_INVALID_HANDLE
#define STATUS_INVALID_HANDLE		((NTSTATUS)0xC0000008L)
#endif
#ifndef STATUS_INVALID_PARAMETER
#define STATUS_INVALID_PARAMETER	((NTSTATUS)0xC000000DL)
#endif
#ifndef STATUS_NO_SUCH_DEVICE
#define STATUS_NO_SUCH_DEVICE		((NTSTATUS)0xC000000EL)
#endif
#ifndef STATUS_INVALID_DEVICE_REQUEST
#define STATUS_INVALID_DEVICE_REQUEST	((NTSTATUS)0xC0000010L)
#endif
#ifndef STATUS_ACCESS_DENIED
#define STATUS_ACCESS_DENIED		((NTSTATUS)0xC0000022L)
#endif
#ifndef STATUS_BUFFER_TOO_SMALL
#define STATUS_BUFFER_TOO_SMALL		((NTSTATUS)0xC0000023L)
#endif
#ifndef STATUS_OBJECT_TYPE_MISMATCH
#define STATUS_OBJECT_TYPE_MISMATCH	((NTSTATUS)0xC0000024L)
#endif
#ifndef STATUS_INSUFFICIENT_RESOURCES
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)0xC000009AL)
#endif
#ifndef STATUS_NOT_SUPPORTED
#define STATUS_NOT_SUPPORTED		((NTSTATUS)0xC00000BBL)
#endif
#ifndef STATUS_TOO_MANY_OPENED_FILES
#define STATUS_TOO_MANY_OPENED_FILES	((NTSTATUS)0xC000011FL)
#endif
#ifndef STATUS_CANCELLED
#define STATUS_CANCELLED		((NTSTATUS)0xC0000120L)
#endif
#ifndef STATUS_INVALID_DEVICE_STATE
#define STATUS_INVALID_DEVICE_STATE	((NTSTATUS)0xC0000184L)
#endif
#ifndef STATUS_INVALID_BUFFER_SIZE
#define STATUS_INVALID_BUFFER_SIZE	((NTSTATUS)0xC0000206L)
#endif
#ifndef STATUS_NOT_FOUND
#define STATUS_NOT_FOUND		((NTSTATUS)0xC0000225L)
#endif
#ifndef STATUS_PROPSET_NOT_FOUND
#define STATUS_PROPSET_NOT_FOUND	((NTSTATUS)0xC0000230L)
#endif

/* The KS structures under their ks.h names */
typedef struct ksidentifier KSIDENTIFIER, *PKSIDENTIFIER;
typedef struct ksidentifier KSPROPERTY, *PKSPROPERTY;
typedef struct ksidentifier KSMETHOD, *PKSMETHOD;
typedef struct ksidentifier KSEVENT, *PKSEVENT;
typedef struct ksp_node KSP_NODE, *PKSP_NODE;
typedef struct ksallocator_framing KSALLOCATOR_FRAMING, *PKSALLOCATOR_FRAMING;
typedef struct ks_framing_range KS_FRAMING_RANGE, *PKS_FRAMING_RANGE;
typedef struct ks_framing_range_weighted KS_FRAMING_RANGE_WEIGHTED,
	*PKS_FRAMING_RANGE_WEIGHTED;
typedef struct ks_compression KS_COMPRESSION, *PKS_COMPRESSION;
typedef struct ks_framing_item KS_FRAMING_ITEM, *PKS_FRAMING_ITEM;
typedef struct ksallocator_framing_ex KSALLOCATOR_FRAMING_EX,
	*PKSALLOCATOR_FRAMING_EX;
typedef struct ksstreamallocator_status KSSTREAMALLOCATOR_STATUS,
	*PKSSTREAMALLOCATOR_STATUS;
typedef struct ksproperty_description KSPROPERTY_DESCRIPTION,
	*PKSPROPERTY_DESCRIPTION;
typedef struct ksproperty_membersheader KSPROPERTY_MEMBERSHEADER,
	*PKSPROPERTY_MEMBERSHEADER;
typedef struct kseventdata KSEVENTDATA, *PKSEVENTDATA;
typedef uint32_t KSSTATE, *PKSSTATE;
typedef uint32_t KSRESET;

/* The NTSTATUS of a libksalloc result (0 or -errno); sets errno if < 0 */
static inline NTSTATUS ks_compat_status(int ret)
{
	if (ret >= 0)
		return STATUS_SUCCESS;
	errno = -ret;
	return (NTSTATUS)ksa_ntstatus(ret);
}

/*
 * KsSynchronousDeviceControl(): one request, IoControl being one of the
 * IOCTL_KS_* numbers of <linux/ksalloc.h>. STATUS_BUFFER_OVERFLOW comes
 * with *BytesReturned set to the size needed, as in KS. (ksproxy's
 * version returns an HRESULT; this one returns the NTSTATUS, as the
 * kernel-mode one does.)
 */
static inline NTSTATUS KsSynchronousDeviceControl(HANDLE Handle,
						  unsigned long IoControl,
						  void *InBuffer,
						  uint32_t InLength,
						  void *OutBuffer,
						  uint32_t OutLength,
						  uint32_t *BytesReturned)
{
	return ks_compat_status(ksa_request(Handle, IoControl, InBuffer,
					    InLength, OutBuffer, OutLength, 0,
					    BytesReturned));
}

/*
 * KsCreateAllocator() (the kernel-mode signature, returning NTSTATUS):
 * the new allocator's fd, close-on-exec, in *AllocatorHandle.
 */
static inline NTSTATUS KsCreateAllocator(HANDLE ConnectionHandle,
					 PKSALLOCATOR_FRAMING AllocatorFraming,
					 PHANDLE AllocatorHandle)
{
	return ks_compat_status(ksa_create_allocator(ConnectionHandle,
						     AllocatorFraming,
						     O_CLOEXEC,
						     AllocatorHandle));
}

/* The same from a KSALLOCATOR_FRAMING_EX (KSNAME_AllocatorEx) */
static inline NTSTATUS KsCreateAllocatorEx(HANDLE ConnectionHandle,
					   PKSALLOCATOR_FRAMING_EX AllocatorFraming,
					   PHANDLE AllocatorHandle)
{
	return ks_compat_status(ksa_create_allocator_ex(ConnectionHandle,
							AllocatorFraming,
							O_CLOEXEC,
							AllocatorHandle));
}

#ifdef __cplusplus
}
#endif

#endif /* _KS_COMPAT_H */
