__all__ = ['plot_history', 'LivePlot']

# %% ../nbs/07_training.ipynb #0e0c9dc7
def plot_history(history:dict, # Trainer.history
                ):
    "Loss curves, LR schedule and gradient norm of a run, side by side."
    import matplotlib.pyplot as plt
    fig, (loss_ax, lr_ax, norm_ax) = plt.subplots(1, 3, figsize=(11, 2.8), dpi=80)
    steps = history.get("step", [])
    loss_ax.plot(steps, history.get("loss", []), label="train", lw=1)
    if history.get("val_step"):
        loss_ax.plot(history["val_step"], history["val_loss"], "o-", label="validation")
    loss_ax.set(xlabel="step", ylabel="loss (nats/token)", title="loss")
    loss_ax.legend()
    lr_ax.plot(steps, history.get("lr", []))
    lr_ax.set(xlabel="step", ylabel="learning rate", title="LR schedule")
    norm_ax.plot(steps, history.get("grad_norm", []), lw=1)
    norm_ax.set(xlabel="step", ylabel="norm", title="gradient norm (before clipping)")
    fig.tight_layout()
    return fig

class LivePlot:
    "Redraw the loss plot in place in a notebook (does nothing outside a notebook)."
    def __init__(self):
        self.handle = None

    def update(self, history:dict, # Trainer.history
              ):
        "Draw `history` in the notebook, replacing the previous drawing."
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if getattr(get_ipython(), "kernel", None) is None:
            return  # not in a notebook
        import matplotlib.pyplot as plt
        fig = plot_history(history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)