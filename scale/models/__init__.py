"""Model families (registry, loading, chat templates) and tiny offline builds of each."""

from scale.models.families import FAMILIES, Family, chat_template, family_of, get_family, load_model, load_processor

__all__ = ["FAMILIES", "Family", "chat_template", "family_of", "get_family", "load_model", "load_processor"]
