#include "actors/config_loader.hpp"

#include <caf/all.hpp>

namespace tandem {

namespace {

config_loader_actor::behavior_type config_loader(config_loader_actor::pointer self, config::config_source source) {
  return {
    [self, source](atoms::config_reload) -> std::string {
      auto text = config::to_json(config::load_config_source(source)).dump();
      self->quit();
      return text;
    },
  };
}

} // namespace

config_loader_actor spawn_config_loader(caf::actor_system& sys, config::config_source source) {
  return sys.spawn<caf::detached>(config_loader, std::move(source));
}

} // namespace tandem
