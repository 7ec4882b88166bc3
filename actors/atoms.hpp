// Atoms of Tandem's actor messages (at most 10 characters each; names chosen not to clash with
// CAF's own get_atom/put_atom/ok_atom/...).
#pragma once

#include <caf/atom.hpp>

namespace tandem::atoms {

using status = caf::atom_constant<caf::atom("tstatus")>;       // -> std::string (JSON snapshot)
using metrics_text = caf::atom_constant<caf::atom("tmetrics")>; // -> std::string (Prometheus text 0.0.4)
using conn_timeout = caf::atom_constant<caf::atom("tconn_to")>; // a connection's deadline passed
using append = caf::atom_constant<caf::atom("tappend")>;        // journal: make a batch durable
using commit_done = caf::atom_constant<caf::atom("tcommitted")>; // journal: the committer finished a batch
using dest_ack = caf::atom_constant<caf::atom("tdest_ack")>;    // journal: a destination acked up to a seq
using retention = caf::atom_constant<caf::atom("tretain")>;     // journal: time to enforce retention
using config_reload = caf::atom_constant<caf::atom("treload")>; // -> std::string (JSON): read the config again
using reconfigure = caf::atom_constant<caf::atom("treconf")>; // cycler: new addresses / reconnect (a reload)
using instance_group = caf::atom_constant<caf::atom("tinstgrp")>; // journal: remember / list instance groups

} // namespace tandem::atoms
