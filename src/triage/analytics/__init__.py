"""What the store's events say about the bot: figures (``metrics``), clustered unanswered
questions (``clusters``), a self-contained HTML page (``html``) and offline replays of past
sessions through candidate content (``replay``)."""
