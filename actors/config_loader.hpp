// Reads the node's config source again for a live reload (issue 21 part 1), off the scheduler:
// a detached actor (its own thread, where a slow disk blocks nobody) that answers one
// config_reload with the loaded config as JSON (config::to_json(loaded_config)) and quits.
// The decision is the supervisor's (config/reload.hpp), against the config running then.
#pragma once

#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "config/config_source.hpp"

namespace tandem {

using config_loader_actor = caf::typed_actor<caf::replies_to<atoms::config_reload>::with<std::string>>;

config_loader_actor spawn_config_loader(caf::actor_system& sys, config::config_source source);

} // namespace tandem
