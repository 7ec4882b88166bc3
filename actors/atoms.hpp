// Atoms of Tandem's actor messages (at most 10 characters each; names chosen not to clash with
// CAF's own get_atom/put_atom/ok_atom/...).
#pragma once

#include <caf/atom.hpp>

namespace tandem::atoms {

using status = caf::atom_constant<caf::atom("tstatus")>;       // -> std::string (JSON snapshot)
using conn_timeout = caf::atom_constant<caf::atom("tconn_to")>; // a connection's deadline passed

} // namespace tandem::atoms
