// SPDX-License-Identifier: GPL-2.0
/* From 6.3, vm_flags is written through vm_flags_set() and friends. */
#include <linux/mm.h>

void ksa_probe(struct vm_area_struct *vma);
void ksa_probe(struct vm_area_struct *vma)
{
#ifdef KSA_PROBE_CONTROL
	(void)vma_pages(vma);
#else
	vm_flags_set(vma, VM_DONTEXPAND);
#endif
}
