#include "sampler.h"

namespace edict {

const std::vector<SamplerKind>& SamplerKinds() {
  static const std::vector<SamplerKind> kinds = {
      EdictGenerateKind(),
      EdictInvertKind(),
      DdimGenerateKind(),
      DdimInvertKind(),
      SdeditKind(),
      BdiaGenerateKind(),
      BdiaInvertKind(),
      BelmGenerateKind(),
      BelmInvertKind(),
  };
  return kinds;
}

const SamplerKind* FindSamplerKind(const std::string& name) {
  for (const SamplerKind& kind : SamplerKinds()) {
    if (name == kind.name) return &kind;
  }
  return nullptr;
}

}  // namespace edict
