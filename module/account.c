// SPDX-License-Identifier: GPL-2.0
/*
 * What frame memory is charged to: the caps on the bytes one allocator,
 * one user and all allocators together may hold.
 *
 * An allocator's bytes are charged once, when it is created, to the real
 * uid of the creating process, and stay charged to that uid until the
 * allocator is destroyed, wherever its fds travel (fork, SCM_RIGHTS, a
 * pin). The uid is the kernel's (kuid_t): a user namespace does not make
 * a new user. Root is counted like any other user; it can change the caps.
 */
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "ksalloc.h"

/* Bytes of frame memory held by all allocators, against max_total_bytes */
atomic64_t ksa_total_bytes = ATOMIC64_INIT(0);

/* One user with allocators: what it holds, against max_user_bytes */
struct ksa_user {
	struct hlist_node node;		/* in ksa_users */
	kuid_t uid;
	u64 bytes;
	unsigned int allocators;
};

/*
 * Protects ksa_users and every ksa_user. Charges are made at creation and
 * dropped at release, both in process context.
 */
static DEFINE_MUTEX(ksa_users_lock);
static DEFINE_HASHTABLE(ksa_users, 6);

static struct ksa_user *ksa_user_find(kuid_t uid)
{
	struct ksa_user *u;

	hash_for_each_possible(ksa_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/**
 * ksa_charge() - charge an allocator's bytes to the caps
 * @c: the allocator's charge, remembering whom it charged
 * @bytes: the frame memory it holds
 *
 * Charges current's real uid. Every cap is inclusive.
 *
 * Context: process context.
 * Return: 0, or -ENOMEM (over max_allocator_bytes, max_user_bytes or
 * max_total_bytes, or out of memory), with nothing charged.
 */
int ksa_charge(struct ksa_charge *c, u64 bytes)
{
	kuid_t uid = current_uid();
	struct ksa_user *u;
	int ret = 0;

	c->user = NULL;
	c->bytes = 0;
	if (bytes > READ_ONCE(ksa_max_allocator_bytes))
		return -ENOMEM;

	mutex_lock(&ksa_users_lock);
	u = ksa_user_find(uid);
	if (!u) {
		u = kzalloc(sizeof(*u), KSA_GFP);
		if (!u) {
			ret = -ENOMEM;
			goto out;
		}
		u->uid = uid;
		hash_add(ksa_users, &u->node, __kuid_val(uid));
	}
	if (u->bytes + bytes > READ_ONCE(ksa_max_user_bytes)) {
		ret = -ENOMEM;
	} else if (atomic64_add_return(bytes, &ksa_total_bytes) >
		   READ_ONCE(ksa_max_total_bytes)) {
		atomic64_sub(bytes, &ksa_total_bytes);
		ret = -ENOMEM;
	}
	if (ret) {
		if (!u->allocators) {
			hash_del(&u->node);
			kfree(u);
		}
		goto out;
	}
	u->bytes += bytes;
	u->allocators++;
	c->user = u;
	c->bytes = bytes;
out:
	mutex_unlock(&ksa_users_lock);
	return ret;
}

/**
 * ksa_uncharge() - give back what ksa_charge() charged
 * @c: the charge; nothing happens if it charged nothing
 *
 * Context: process context.
 */
void ksa_uncharge(struct ksa_charge *c)
{
	struct ksa_user *u = c->user;

	if (!u)
		return;
	mutex_lock(&ksa_users_lock);
	atomic64_sub(c->bytes, &ksa_total_bytes);
	u->bytes -= c->bytes;
	if (!--u->allocators) {
		hash_del(&u->node);
		kfree(u);
	}
	mutex_unlock(&ksa_users_lock);
	c->user = NULL;
	c->bytes = 0;
}

/* debugfs: one "# user" line per user holding frame memory */
void ksa_account_show(struct seq_file *m)
{
	struct ksa_user *u;
	unsigned int bkt;

	mutex_lock(&ksa_users_lock);
	hash_for_each(ksa_users, bkt, u, node)
		seq_printf(m, "# user %u bytes %llu allocators %u\n",
			   from_kuid_munged(&init_user_ns, u->uid), u->bytes,
			   u->allocators);
	mutex_unlock(&ksa_users_lock);
}
