// `tandemd hash-password [--password-file FILE] [--cost N]`: prints the scrypt hash string of a
// password for a users file (config/password_hash.hpp, docs/security.md). The password comes from
// FILE or from stdin's first line, never from argv.
#pragma once

int hash_password_command(int argc, char** argv);
