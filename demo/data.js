// Demo records for the stand-ins: a small clothing shop selling on TikTok Shop and Shopify, with
// HubSpot, Klaviyo, WooCommerce and NetSuite beside them. Deterministic (the same records on
// every start, dated relative to now) and shaped as each vendor documents its records, so the
// blueprints map them as they would map a real shop's.

const CATALOGUE = [
  {
    sku: "TEE-ORG-BLK-M",
    title: "Organic cotton tee",
    option: "Black / M",
    price: "24.00",
    tiktokSku: "1729382476852921001",
  },
  {
    sku: "TEE-ORG-BLK-L",
    title: "Organic cotton tee",
    option: "Black / L",
    price: "24.00",
    tiktokSku: "1729382476852921002",
  },
  {
    sku: "TEE-ORG-SND-M",
    title: "Organic cotton tee",
    option: "Sand / M",
    price: "24.00",
    tiktokSku: "1729382476852921003",
  },
  {
    sku: "HOOD-REC-GRY-L",
    title: "Recycled hoodie",
    option: "Grey / L",
    price: "58.00",
    tiktokSku: "1729382476852921004",
  },
  {
    sku: "CAP-WAX-OLV",
    title: "Waxed cap",
    option: "Olive",
    price: "19.50",
    tiktokSku: "1729382476852921005",
  },
  {
    sku: "SOCK-MER-3PK",
    title: "Merino socks, 3 pack",
    option: "One size",
    price: "16.00",
    tiktokSku: "1729382476852921006",
  },
];

const PEOPLE = [
  [
    "Amelia",
    "Hughes",
    "amelia.hughes@example.co.uk",
    "+447700900101",
    "GB",
    "14 Bridge Street",
    "Manchester",
    "M3 3BW",
  ],
  [
    "Oliver",
    "Bennett",
    "oliver.bennett@example.co.uk",
    "+447700900102",
    "GB",
    "2 Castle Mews",
    "Edinburgh",
    "EH1 2NG",
  ],
  [
    "Maya",
    "Patel",
    "maya.patel@example.com",
    "+12025550103",
    "US",
    "850 Market St",
    "San Francisco",
    "94102",
  ],
  ["Noah", "Williams", "noah.williams@example.com", "+12025550104", "US", "41 Elm Avenue", "Austin", "78701"],
  ["Isla", "Murphy", "isla.murphy@example.ie", "+353851234105", "IE", "7 Harbour Road", "Cork", "T12 X2Y4"],
  ["Leo", "Schmidt", "leo.schmidt@example.de", "+4915112340106", "DE", "Hauptstraße 12", "Berlin", "10115"],
  ["Sofia", "Rossi", "sofia.rossi@example.it", "+393471230107", "IT", "Via Roma 3", "Milano", "20121"],
  [
    "Ethan",
    "Clarke",
    "ethan.clarke@example.co.uk",
    "+447700900108",
    "GB",
    "9 Mill Lane",
    "Bristol",
    "BS1 4DJ",
  ],
];

const CURRENCY = { GB: "GBP", US: "USD", IE: "EUR", DE: "EUR", IT: "EUR" };
const money = (n) => n.toFixed(2);

/** TikTok Shop orders (Partner API 202309 order detail shape), updated over the last days. */
function tiktokOrders(now = Date.now()) {
  return PEOPLE.map(([first, last, email, phone, region, line1, city, postcode], i) => {
    const items = [CATALOGUE[i % CATALOGUE.length], CATALOGUE[(i * 3 + 1) % CATALOGUE.length]];
    const quantities = [1, 1 + (i % 2)];
    const subTotal = items.reduce((s, it, k) => s + Number(it.price) * quantities[k], 0);
    const discount = i % 3 === 0 ? 5 : 0;
    const shipping = 3.95;
    const tax = Math.round((subTotal - discount) * 0.2 * 100) / 100;
    const created = Math.floor((now - (9 - i) * 3600_000 * 7) / 1000);
    const orderId = String(576461413038785000n + BigInt(i + 1));
    const packageId = String(1152321127278713000n + BigInt(i + 1));
    return {
      id: orderId,
      status: "AWAITING_SHIPMENT",
      create_time: created,
      update_time: created + 600,
      paid_time: created + 60,
      buyer_email: email,
      buyer_message: "",
      recipient_address: {
        name: `${first} ${last}`,
        first_name: first,
        last_name: last,
        phone_number: phone,
        address_line1: line1,
        address_line2: "",
        full_address: `${line1}, ${city}, ${postcode}`,
        postal_code: postcode,
        region_code: region,
        district_info: [{ address_level_name: "City", address_name: city }],
      },
      payment: {
        currency: CURRENCY[region],
        sub_total: money(subTotal),
        shipping_fee: money(shipping),
        seller_discount: money(discount),
        platform_discount: "0.00",
        tax: money(tax),
        total_amount: money(subTotal - discount + shipping),
      },
      line_items: items.flatMap((it, k) =>
        // TikTok lists one line item per unit.
        Array.from({ length: quantities[k] }, (_, u) => ({
          id: `${orderId}${k}${u}`,
          sku_id: it.tiktokSku,
          seller_sku: it.sku,
          product_name: it.title,
          sku_name: it.option,
          quantity: 1,
          sale_price: it.price,
          original_price: it.price,
          currency: CURRENCY[region],
          package_id: packageId,
        })),
      ),
      packages: [{ id: packageId }],
    };
  });
}

/** TikTok Shop products (products search shape). */
function tiktokProducts() {
  return CATALOGUE.map((it, i) => ({
    id: String(1729382476852920100n + BigInt(i)),
    title: `${it.title} (${it.option})`,
    status: "ACTIVATE",
    skus: [
      {
        id: it.tiktokSku,
        seller_sku: it.sku,
        price: { currency: "GBP", sale_price: it.price },
        inventory: [{ quantity: 40 - i * 5, warehouse_id: "7068517275539719942" }],
      },
    ],
  }));
}

/** Shopify REST customers with e-mail marketing consent in each documented state. */
function shopifyCustomers(now = Date.now()) {
  const states = [
    "subscribed",
    "not_subscribed",
    "unsubscribed",
    "subscribed",
    "pending",
    "subscribed",
    "not_subscribed",
    "subscribed",
  ];
  return PEOPLE.map(([first, last, email, phone, region, line1, city, postcode], i) => {
    const updated = new Date(now - (8 - i) * 5400_000).toISOString();
    const address = {
      id: 9000 + i,
      first_name: first,
      last_name: last,
      address1: line1,
      city,
      zip: postcode,
      country_code: region,
      phone,
      default: true,
    };
    return {
      id: 6201 + i,
      email,
      first_name: first,
      last_name: last,
      phone,
      created_at: updated,
      updated_at: updated,
      state: "enabled",
      verified_email: true,
      tags: i % 2 ? "vip" : "",
      currency: CURRENCY[region],
      email_marketing_consent: {
        state: states[i],
        opt_in_level: states[i] === "subscribed" ? "confirmed_opt_in" : "single_opt_in",
        consent_updated_at: states[i] === "not_subscribed" ? null : updated,
      },
      addresses: [address],
      default_address: address,
    };
  });
}

/** Shopify products with one variant per catalogue SKU (REST shape), for SKU matching. */
function shopifyProducts() {
  const byTitle = new Map();
  CATALOGUE.forEach((it, i) => {
    const p = byTitle.get(it.title) ?? {
      id: 8101 + byTitle.size,
      title: it.title,
      handle: it.title.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
      status: "active",
      variants: [],
    };
    p.variants.push({
      id: 44001 + i,
      product_id: p.id,
      sku: it.sku,
      title: it.option,
      price: it.price,
      inventory_item_id: 47001 + i,
      inventory_quantity: 30,
    });
    byTitle.set(it.title, p);
  });
  return [...byTitle.values()];
}

/** WooCommerce products (variable products with variations), as REST v3 lists them. */
function wooProducts() {
  const byTitle = new Map();
  CATALOGUE.forEach((it, i) => {
    const p = byTitle.get(it.title) ?? {
      name: it.title,
      type: "variable",
      status: "publish",
      sku: it.sku.split("-").slice(0, 2).join("-"),
      description: `<p>${it.title}</p>`,
      variations: [],
    };
    p.variations.push({
      sku: it.sku,
      regular_price: it.price,
      stock_quantity: 25 + i,
      manage_stock: true,
      attributes: [{ name: "Option", option: it.option }],
    });
    byTitle.set(it.title, p);
  });
  return [...byTitle.values()];
}

/** HubSpot contacts already in the CRM (one of them a Shopify customer, by email). */
function hubspotContacts() {
  return [
    {
      id: "51",
      properties: {
        email: PEOPLE[0][2],
        firstname: PEOPLE[0][0],
        lastname: PEOPLE[0][1],
        lifecyclestage: "customer",
      },
    },
    {
      id: "52",
      properties: {
        email: "buyer@wholesale.example",
        firstname: "Wholesale",
        lastname: "Buyer",
        lifecyclestage: "lead",
      },
    },
  ];
}

/** NetSuite records: one customer already there, and the catalogue as inventory items. */
function netsuiteRecords() {
  return {
    customer: [
      {
        id: "301",
        entityId: PEOPLE[1][2],
        email: PEOPLE[1][2],
        firstName: PEOPLE[1][0],
        lastName: PEOPLE[1][1],
        companyName: "",
        isPerson: true,
      },
    ],
    inventoryItem: CATALOGUE.map((it, i) => ({
      id: String(501 + i),
      itemId: it.sku,
      displayName: `${it.title} ${it.option}`,
      basePrice: Number(it.price),
    })),
  };
}

module.exports = {
  CATALOGUE,
  tiktokOrders,
  tiktokProducts,
  shopifyCustomers,
  shopifyProducts,
  wooProducts,
  hubspotContacts,
  netsuiteRecords,
};
