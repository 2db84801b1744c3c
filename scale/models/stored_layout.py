"""The weight names a checkpoint stores, beside the module names transformers gives them once loaded.

transformers 5 renames a checkpoint's weights when it loads one, through its conversion mapping (e.g.
``vision_tower.vision_model.*`` → ``model.vision_tower.*``: CLIP and SigLIP towers lost their
``vision_model`` level in 5.6), and reverts exactly the renamings it used when it saves. Engines that
read checkpoints themselves (vLLM) expect the stored names, so anything handed to them by name (TRL's
colocate weight sync) is renamed back the same way here, from transformers' own mapping rather than a
hand-kept list.
"""

from __future__ import annotations


def store_in_hub_layout(model) -> None:
    """Make ``save_pretrained`` write the stored names a hub checkpoint of the model's family has.

    A model built from a config used no renaming, so it would save its module names; attaching the
    family's whole mapping, as a load from the hub leaves it, saves the hub's names, and every later
    load and save of it goes through the same conversion as the real checkpoint's.
    """
    from transformers.conversion_mapping import get_model_conversion_mapping

    model._weight_conversions = get_model_conversion_mapping(model, add_legacy=False)


class StoredNames:
    """``names(module_name)`` → the name ``model``'s checkpoint stores that weight under.

    ``model`` is the loaded transformers model (a PEFT model's base model is used); names are those of
    its ``named_parameters()``, without wrapper prefixes. One weight is renamed at a time, so a mapping
    that fuses or splits weights (none of the paper's families has one) is refused by name.
    """

    def __init__(self, model) -> None:
        self.model = model.get_base_model() if hasattr(model, "get_base_model") else model
        self._names: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self._names:
            import torch
            from transformers.core_model_loading import revert_weight_conversion

            stored = list(revert_weight_conversion(self.model, {name: torch.empty(0)}))
            if len(stored) != 1:
                raise ValueError(f"{name} is stored as {len(stored)} tensors ({stored}); it cannot be renamed alone")
            self._names[name] = stored[0]
        return self._names[name]
