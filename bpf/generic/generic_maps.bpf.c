// SPDX-License-Identifier: GPL-2.0
/* No programs: loading this object creates the maps every policy hook shares
 * (gen_fd_names, and events/execve_map when no base object provides them). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "generic/gen_maps.h"

char LICENSE[] SEC("license") = "GPL";
