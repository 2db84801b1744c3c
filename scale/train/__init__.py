"""Training: SFT (vanilla, SCALe, fixed-weight) and GRPO, through TRL's trainers."""
