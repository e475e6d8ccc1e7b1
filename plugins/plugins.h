/*
 * plugins.h: the loader provostd and provostctl use: dlopen each Plugin
 * line's object, check its ABI, and call the hooks fail-closed.
 */
#ifndef PROVOST_PLUGINS_H
#define PROVOST_PLUGINS_H

#include <stddef.h>

#include "plugins/provost_plugin.h"

struct plugin_set;

struct plugin_set *plugin_set_new(const struct provost_plugin_host *host);
/* Unloads every plugin (fini first); NULL is a no-op. */
void plugin_set_free(struct plugin_set *set);
/*
 * Loads PATH and calls its init with CONFIG.  Refused: not a regular file
 * owned by root or the caller, group/world-writable, no provost_plugin_v1,
 * wrong type, another major version, missing init, or init failing.
 */
int plugin_set_load(struct plugin_set *set, const char *path,
    const char *config, char *err, size_t errlen);
size_t plugin_set_count(const struct plugin_set *set);
/*
 * Asks every plugin with check_access: PV_ALLOW only if all allow.  A
 * plugin that denies or errs decides (deny); reason names it.
 */
int plugin_set_check_access(struct plugin_set *set,
    const struct provost_access *access, char *reason, size_t reasonlen);
/* Delivers an event to every plugin; one that errs is switched off. */
void plugin_set_event(
    struct plugin_set *set, const struct provost_event *event);

#endif /* PROVOST_PLUGINS_H */
