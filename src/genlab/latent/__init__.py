"""Neural latent-variable models: autoencoders, VAEs and categorical (Gumbel) latents."""
