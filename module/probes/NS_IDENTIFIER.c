// SPDX-License-Identifier: GPL-2.0
/* Before 6.13, symbol namespaces were bare identifiers, not strings. */
#include <linux/export.h>
#include <linux/module.h>

int ksa_probe(void);
int ksa_probe(void)
{
	return 0;
}

#ifdef KSA_PROBE_CONTROL
EXPORT_SYMBOL_GPL(ksa_probe);
#else
EXPORT_SYMBOL_NS_GPL(ksa_probe, KSALLOC_PROBE);
#endif
