"""The console in Chromium, driven by Playwright: run by the `console` test of system-tests
(tests/console/main.rs) against a whole system started in that test.

    browser.py GATEWAY_URL SCREENSHOT_DIR      (CHROMIUM names the browser)

Three browser contexts (a customer, a store owner, a rider) act on the same orders; the
customer's order page must follow every step live, without a reload. Exits non-zero on the
first failed expectation.
"""

import os
import re
import sys
import time
import uuid

from playwright.sync_api import expect, sync_playwright

BASE = sys.argv[1].rstrip("/")
SHOTS = sys.argv[2]
WAIT = 30_000  # ms: an event crosses the system in well under a second; debug builds on a
# loaded machine are slower (the system tests' patience is the same)


def sign_in(browser, user, role):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(BASE + "/")
    page.get_by_label("User id").fill(user)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in")).to_have_text(f"{user} ({role})")
    return page


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def step(message):
    print(f"console: {message}", flush=True)


def place_order(customer, store_name, quantities):
    """Orders from the customer's page; retried while the order service has not yet learned the
    menu from the store's events (422 menu_item_unknown, for a few milliseconds)."""
    customer.goto(BASE + "/#/customer")
    customer.get_by_label("Store").select_option(label=store_name)
    for item, quantity in quantities.items():
        customer.get_by_label(f"Quantity of {item}").fill(str(quantity))
    until(customer, lambda: customer.get_by_role("button", name="Place order").click(),
          lambda: customer.wait_for_url(re.compile(r"#/order/"), timeout=1500),
          "the order was never placed", attempts=40)
    order_id = customer.url.split("#/order/")[1]
    # A marker that a reload would lose: the page must update in place.
    customer.evaluate("window.__noReload = true")
    return order_id


def until(page, act, confirmed, what, attempts):
    """Does `act` until `confirmed` passes (it raises, after a wait of its own, while it does
    not): for a step the services refuse for a moment, until an event has reached the one that
    answers. Fails with `what` and the page's last message."""
    for _ in range(attempts):
        act()
        try:
            confirmed()
            return
        except Exception:
            time.sleep(0.25)
    raise AssertionError(f"{what}: " + page.locator("#flash").inner_text())


def expect_order(customer, status):
    try:
        expect(customer.get_by_test_id("status")).to_have_attribute("data-order", status, timeout=WAIT)
    except AssertionError:
        # What the page had: the timeline says which event never came.
        print("console: timeline: " + customer.get_by_test_id("timeline").inner_text().replace("\n", " | "), flush=True)
        print("console: live: " + customer.get_by_test_id("live-state").inner_text(), flush=True)
        # And what mypage's view, the stream's source, has now.
        view = customer.evaluate("""async () => {
            const id = location.hash.split("/")[2].split("?")[0];
            const token = JSON.parse(sessionStorage.getItem("fooddelivery.session")).token;
            const r = await fetch(`/mypage/orders/${id}`, { headers: { authorization: `Bearer ${token}` } });
            return r.status + " " + (await r.text());
        }""")
        print("console: mypage: " + view, flush=True)
        raise


def expect_event(customer, event_type):
    expect(customer.locator(f'[data-testid="timeline"] tr[data-event="{event_type}"]')).to_have_count(1, timeout=WAIT)


def owner_act(owner, order_id, button):
    row = owner.locator(f'tr[data-order="{order_id}"]')
    row.get_by_role("button", name=button).click(timeout=WAIT)


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=["--no-sandbox"])

        # Sign-in page.
        anonymous = browser.new_context(viewport={"width": 1200, "height": 700}).new_page()
        started = time.monotonic()
        anonymous.goto(BASE + "/")
        expect(anonymous.get_by_role("button", name="Sign in")).to_be_visible()
        step(f"first render in {time.monotonic() - started:.2f} s")
        shot(anonymous, "sign-in")
        # By keyboard alone: the user id has the focus, Tab moves on, Enter submits.
        anonymous.keyboard.press("Control+A")
        anonymous.keyboard.type("kim")
        anonymous.keyboard.press("Tab")
        anonymous.keyboard.press("ArrowDown")
        anonymous.keyboard.press("ArrowDown")
        anonymous.keyboard.press("Tab")
        anonymous.keyboard.press("Enter")
        expect(anonymous.get_by_test_id("signed-in")).to_have_text("kim (rider)")
        step("signed in by keyboard alone")

        # The owner opens a store with two items.
        owner = sign_in(browser, "olivia", "owner")
        store = f"Chicken House {uuid.uuid4().hex[:6]}"
        owner.get_by_label("New store's name").fill(store)
        owner.get_by_role("button", name="Open store").click()
        expect(owner.get_by_label("Store", exact=True)).to_have_value(re.compile(".+"))
        for name, price in [("Fried chicken", "18000"), ("Cola", "2000")]:
            owner.get_by_label("Item", exact=True).fill(name)
            owner.get_by_label("Price (won)").fill(price)
            owner.get_by_role("button", name="Add item").click()
            expect(owner.get_by_role("cell", name=name, exact=True)).to_be_visible()
        step(f"owner opened {store}")

        # The customer orders; the owner cooks it, the rider delivers it; the customer's page
        # follows live.
        customer = sign_in(browser, "alice", "customer")
        order_id = place_order(customer, store, {"Fried chicken": 2, "Cola": 1})
        step(f"customer placed order {order_id}")
        expect_order(customer, "Placed")
        expect_event(customer, "OrderPlaced")
        expect(customer.get_by_test_id("live-state")).to_have_text("live")

        owner.goto(BASE + "/#/owner")
        owner.get_by_label("Store", exact=True).select_option(label=store)
        owner_act(owner, order_id, "Accept")
        expect_order(customer, "Accepted")
        # The connection breaks: the page reconnects with Last-Event-ID and misses nothing.
        customer.evaluate("window.__liveStream.drop()")
        owner_act(owner, order_id, "Start cooking")
        expect_order(customer, "Cooking")
        shot(owner, "owner")
        owner_act(owner, order_id, "Finish cooking")
        expect_order(customer, "Delivering")
        expect_event(customer, "DeliveryStarted")
        step("owner accepted and cooked; the delivery started")

        rider = sign_in(browser, "ryan", "rider")
        rider.get_by_label("Order id").fill(order_id)
        rider.get_by_role("button", name="Find").click()
        row = rider.locator(f'tr[data-order="{order_id}"]')
        expect(row).to_contain_text("Started", timeout=WAIT)
        shot(rider, "rider")
        row.get_by_role("button", name="Complete").click()
        expect(row).to_contain_text("Completed", timeout=WAIT)
        expect_order(customer, "Delivered")
        for event in ["OrderPlaced", "PaymentApproved", "StoreOrderAccepted", "CookingStarted",
                      "CookingFinished", "DeliveryRequested", "DeliveryStarted", "DeliveryCompleted"]:
            expect_event(customer, event)
        completed = customer.locator('[data-testid="timeline"] tr[data-event="DeliveryCompleted"]')
        expect(completed).to_contain_text("fooddelivery.delivery")
        expect(completed).to_contain_text("delivery")
        assert customer.evaluate("window.__noReload === true"), "the customer's page was reloaded"
        rows = customer.locator('[data-testid="timeline"] tr').count()
        assert rows == 8, f"each event once in the timeline, after the reconnection: {rows} rows"
        expect(customer.get_by_test_id("live-state")).to_have_text("final", timeout=WAIT)
        shot(customer, "order-live")
        # Delivered: the customer reviews it (once the review service has heard of the delivery).
        customer.get_by_label("Rating").select_option("5")
        until(customer, lambda: customer.get_by_role("button", name="Post review").click(),
              lambda: expect(customer.locator("#flash")).to_have_text("review posted", timeout=1000),
              "the review was never posted", attempts=40)
        step("rider delivered; the customer's page followed every step live")

        # Cancel: the customer cancels while the order is Placed; the payment is refunded.
        canceled = place_order(customer, store, {"Cola": 1})
        expect_order(customer, "Placed")
        # Change: while it is Placed the customer adds a cola and moves the delivery (a dearer
        # order: the difference is paid first). Retried while the form was read at a version
        # that moved on (412: the form reads the order again) or the change is not yet allowed.
        def change_order():
            customer.get_by_label("New quantity of Cola").fill("2")
            customer.get_by_label("New delivery address").fill("Seoul, Mapo-gu, Wausan-ro 94")
            customer.get_by_role("button", name="Change order", exact=True).click()
        until(customer, change_order,
              lambda: expect(customer.locator("#flash")).to_contain_text("changed: ₩4,000", timeout=1500),
              "the order was never changed", attempts=20)
        expect_event(customer, "OrderChanged")
        expect(customer.get_by_label("New quantity of Cola")).to_have_value("2")
        shot(customer, "order-change")
        step(f"customer changed {canceled}: two colas, another address")
        customer.get_by_role("button", name="Cancel order").click()
        expect_order(customer, "Canceled")
        expect_event(customer, "OrderCanceled")
        expect_event(customer, "PaymentCanceled")
        expect(customer.get_by_test_id("status")).to_contain_text("Refunded", timeout=WAIT)
        step(f"customer canceled {canceled}; refunded")

        # Reject: the owner refuses the order; the customer sees it canceled, refunded.
        rejected = place_order(customer, store, {"Fried chicken": 1})
        owner.goto(BASE + "/#/owner")
        owner.get_by_label("Store", exact=True).select_option(label=store)
        owner.get_by_label("Reason given when rejecting").fill("sold out")
        owner_act(owner, rejected, "Reject")
        expect_order(customer, "Canceled")
        expect_event(customer, "StoreOrderRejected")
        expect(customer.get_by_test_id("status")).to_contain_text("Rejected", timeout=WAIT)
        step(f"owner rejected {rejected}")

        # The owner watches an order of their store live too.
        owner.locator(f'tr[data-order="{order_id}"] a').click()
        expect_order(owner, "Delivered")
        expect_event(owner, "DeliveryCompleted")

        # Another customer cannot see alice's order: neither live nor in their lists.
        bob = sign_in(browser, "bob", "customer")
        bob.goto(BASE + f"/#/order/{order_id}")
        expect(bob.get_by_test_id("live-state")).to_contain_text("refused", timeout=WAIT)
        expect(bob.locator('[data-testid="timeline"] tr')).to_have_count(0)
        bob.goto(BASE + "/#/customer")
        expect(bob.get_by_text("No orders yet.")).to_be_visible(timeout=WAIT)
        step("another customer is refused the order")

        # The customer's home, with the orders and notifications.
        customer.goto(BASE + "/#/customer")
        expect(customer.get_by_role("link", name=f"…{order_id[-8:]}")).to_be_visible(timeout=WAIT)
        expect(customer.locator(".notes li").first).to_be_visible(timeout=WAIT)
        shot(customer, "customer")
        # On a phone: one column, nothing wider than the screen (tables scroll in their box).
        customer.set_viewport_size({"width": 390, "height": 844})
        customer.goto(BASE + f"/#/order/{order_id}")
        expect_order(customer, "Delivered")
        overflow = customer.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone"
        shot(customer, "order-phone")

        # Operations: every service ready, the payment fault switch.
        admin = sign_in(browser, "ada", "admin")
        expect(admin.locator('[data-service="order"]')).to_contain_text("ready", timeout=WAIT)
        for service in ["order", "payment", "store", "delivery", "notification", "mypage", "review"]:
            expect(admin.locator(f'[data-service="{service}"] td').first).to_have_text("ready", timeout=WAIT)
        expect(admin.locator('[data-service="order"]')).to_contain_text("closed")
        admin.get_by_label("Failure rate (0–1)").fill("0")
        admin.get_by_role("button", name="Save faults").click()
        expect(admin.locator("#flash")).to_have_text("payment faults saved")
        shot(admin, "ops")
        browser.close()
    print("console: passed", flush=True)


if __name__ == "__main__":
    main()
