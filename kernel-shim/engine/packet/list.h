/* SPDX-License-Identifier: MIT */
/*
 * Minimal intrusive circular doubly linked list for the engine's object
 * sets (contexts, QPs, CQs ...).  Not thread-safe: the engine lock guards
 * every list.
 */
#ifndef SRXE_ENGINE_LIST_H
#define SRXE_ENGINE_LIST_H

#include <stddef.h>

struct srxe_list {
	struct srxe_list *next, *prev;
};

static inline void srxe_list_init(struct srxe_list *head)
{
	head->next = head;
	head->prev = head;
}

static inline void srxe_list_add_tail(struct srxe_list *head,
				      struct srxe_list *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void srxe_list_del(struct srxe_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->next = node;
	node->prev = node;
}

static inline int srxe_list_empty(const struct srxe_list *head)
{
	return head->next == head;
}

#define srxe_container_of(ptr, type, member)                                   \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* Safe against removal of the current node. */
#define srxe_list_for_each_safe(pos, tmp, head)                                \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);       \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
