from clearway.runtime import run_worker

from services.receiver.handlers import receive_invoices, register_handlers
from services.receiver.networks import network_routes

if __name__ == "__main__":
    run_worker("receiver", register_handlers, background=receive_invoices, routes=network_routes)
