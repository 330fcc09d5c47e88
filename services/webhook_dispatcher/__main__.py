from clearway.runtime import run_worker

from services.webhook_dispatcher.handlers import deliver_due, register_handlers

if __name__ == "__main__":
    run_worker("webhook_dispatcher", register_handlers, background=deliver_due)
