FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
# The web pages (front door, dashboard) and the docs they link to.
COPY public ./public
COPY docs ./docs
COPY tsconfig.json ./
COPY src ./src
RUN mkdir -p /app/dead-letter /app/spool && chown node /app/dead-letter /app/spool
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
EXPOSE 4000
USER node
CMD ["node", "--import", "tsx", "src/main.ts"]
