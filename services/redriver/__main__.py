from clearway.runtime import run_worker

from services.redriver.handlers import register_handlers, watch_stalled_invoices

if __name__ == "__main__":
    run_worker("redriver", register_handlers, background=watch_stalled_invoices)
